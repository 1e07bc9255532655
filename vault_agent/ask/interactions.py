"""Log each ``vault ask`` to ``interactions/YYYY-MM/<stamp>-<node>-<slug>.md``.

Frontmatter: ``kind: interaction``, question, model, sources (vault paths cited, or
all given when none were cited), created (UTC ISO 8601), node. Body: the question
as a heading, the answer, and the sources as ``[[wikilinks]]``. The file is written
atomically, never over an existing one, and committed with ``Vault-Kind: ask``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import yaml

from ..vault import Vault, layout


def render(
    question: str, answer: str, model: str, sources: Sequence[str], node: str, created: datetime
) -> str:
    """The interaction file's text."""
    meta = {
        "kind": "interaction",
        "question": question,
        "model": model,
        "sources": list(sources),
        "created": layout.iso(created),
        "node": node,
    }
    head = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    title = " ".join(question.split())
    if len(title) > 120:
        title = title[:117] + "…"
    links = "\n".join(f"{i}. [[{p}]]" for i, p in enumerate(sources, 1)) or "(none)"
    return f"---\n{head}---\n# {title}\n\n{answer.strip()}\n\n## Sources\n\n{links}\n"


def write_interaction(
    vault: Vault,
    question: str,
    answer: str,
    model: str,
    sources: Sequence[str],
    created: datetime | None = None,
    commit: bool = True,
) -> str:
    """Write (and commit) the interaction; returns its vault path.

    A name already taken in the same second gets ``-2``, ``-3``… in its slug.
    """
    created = created or datetime.now(UTC)
    slug = layout.slugify(question, 40)
    rel = layout.interaction_path(vault.node, created, slug)
    n = 2
    while vault.path(rel).exists():
        rel = layout.interaction_path(vault.node, created, f"{slug[:36]}-{n}")
        n += 1
    vault.write_file(rel, render(question, answer, model, sources, vault.node, created))
    if commit:
        vault.commit(f"Ask: {slug.replace('-', ' ')}", "ask", paths=[rel])
    return rel
