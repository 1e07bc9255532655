"""The merge rules as pure functions: JSON key-by-key merge and append-only JSONL."""

from __future__ import annotations

import pytest

from vault_agent.sync import jsonmerge, rules


@pytest.mark.parametrize(
    "base,ours,theirs,merged,conflicts",
    [
        ({"a": 1}, {"a": 1, "b": 2}, {"a": 1, "c": 3}, {"a": 1, "b": 2, "c": 3}, []),
        ({"a": 1}, {"a": 2}, {"a": 1}, {"a": 2}, []),
        ({"a": 1}, {"a": 1}, {"a": 3}, {"a": 3}, []),
        ({"a": 1}, {"a": 2}, {"a": 3}, {"a": 2}, ["a"]),
        ({"a": 1}, {"a": 2}, {"a": 2}, {"a": 2}, []),
        ({"a": 1, "b": 1}, {"b": 1}, {"a": 1, "b": 1}, {"b": 1}, []),  # we deleted a
        ({"a": 1}, {}, {"a": 5}, {"a": 5}, []),  # edit beats delete
        ({"a": 1}, {"a": 7}, {}, {"a": 7}, []),  # edit beats delete
        (
            {"n": {"x": 1, "y": 1}},
            {"n": {"x": 2, "y": 1}},
            {"n": {"x": 1, "y": 3}},
            {"n": {"x": 2, "y": 3}},
            [],
        ),  # nested objects
        ({"n": {"x": 1}}, {"n": {"x": 2}}, {"n": {"x": 3}}, {"n": {"x": 2}}, ["n.x"]),
        ({}, {"k": [1]}, {"k": [2]}, {"k": [1]}, ["k"]),  # added both sides
    ],
)
def test_json_merge3(base, ours, theirs, merged, conflicts):
    got, keys = jsonmerge.merge3(base, ours, theirs)
    assert got == merged
    assert keys == conflicts


def test_json_loads_object_rejects_non_objects():
    assert jsonmerge.loads_object(b"[1]") is None
    assert jsonmerge.loads_object(b"{bad") is None
    assert jsonmerge.loads_object(b"\xff") is None
    assert jsonmerge.loads_object(b'{"a": 1}') == {"a": 1}


L = [f'{{"hlc":"20251014T10000{i}.000Z-0000","i":{i}}}\n'.encode() for i in range(6)]


def test_append_only_takes_the_longer_version():
    base = L[0]
    longer = base + L[1] + L[2]
    assert rules.merge_append_only(base, base + L[1], longer) == (longer, None)
    assert rules.merge_append_only(base, longer, base + L[1]) == (longer, None)
    assert rules.merge_append_only(None, None, L[0] + L[1]) == (L[0] + L[1], None)


def test_append_only_refuses_a_rewrite_of_earlier_lines():
    base = L[0] + L[1]
    merged, reason = rules.merge_append_only(base, base + L[2], L[0] + b'{"forged":1}\n' + L[2])
    assert merged == base + L[2]
    assert reason and "rewrites" in reason
    merged, reason = rules.merge_append_only(base, base, L[0])  # truncation
    assert reason and merged == base


def test_divergent_appends_union_is_symmetric_and_stable():
    base = L[0]
    a, b = base + L[3] + L[1], base + L[2] + L[4]
    ab, _ = rules.merge_append_only(base, a, b)
    ba, _ = rules.merge_append_only(base, b, a)
    assert ab == ba
    assert sorted(ab.splitlines()) == sorted((base + L[1] + L[2] + L[3] + L[4]).splitlines())
    again, _ = rules.merge_append_only(base, ab, a)
    assert again == ab


def test_hlcs_in_rollups_and_frontmatter():
    assert rules.hlcs_in(L[1] + L[2]) == ["20251014T100001.000Z-0000", "20251014T100002.000Z-0000"]
    md = b"---\nid: x\nhlc: 20251014T100005.000Z-0003\n---\nbody\n"
    assert rules.hlcs_in(md, markdown=True) == ["20251014T100005.000Z-0003"]
    assert rules.new_lines(L[0], L[0] + L[1]) == L[1]


def test_is_text():
    assert rules.is_text("héllo\n".encode())
    assert not rules.is_text(b"\x00\x01")
    assert not rules.is_text(b"\xff\xfe")


class _SameOrigin:
    """Provenance saying every version came from node n1 at one fixed second."""

    def __init__(self, when: int) -> None:
        self.when = when

    def writers(self, path, oid):
        return {"n1"}

    def origin(self, path, oid):
        return ("n1", self.when)


def test_conflict_copy_never_overwrites_a_copy_the_peer_made_in_the_same_second(tmp_path):
    """Found by the hypothesis test: two losing versions, one copy name, one was lost."""
    import pygit2

    from vault_agent.sync.merge import merge_trees

    repo = pygit2.init_repository(str(tmp_path / "r"), bare=True)

    def tree(files: dict[str, bytes]) -> pygit2.Tree:
        idx = pygit2.Index()
        for path, data in files.items():
            idx.add(pygit2.IndexEntry(path, repo.create_blob(data), pygit2.enums.FileMode.BLOB))
        return repo[idx.write_tree(repo)]

    when = 1760436000  # 2025-10-14T10:00:00Z
    copy = "shared-memory/global-state.sync-conflict-20251014-100000-n1.json"
    gs = "shared-memory/global-state.json"
    base = tree({gs: b'{"guests": "A"}\n'})
    ours = tree({gs: b'{"guests": "D"}\n'})
    theirs = tree({gs: b'{"guests": "C"}\n', copy: b'{"guests": "A-old"}\n'})
    result = merge_trees(repo, "n2", base, ours, theirs, _SameOrigin(when))
    placed = {p: repo[e[0]].data for p, e in result.changes.items() if e}
    assert placed[copy] == b'{"guests": "A-old"}\n'  # the peer's copy kept
    (conflict,) = result.conflicts
    assert conflict.copy != copy and conflict.copy.endswith("-100001-n1.json")
    assert placed[conflict.copy] == b'{"guests": "C"}\n'  # theirs kept too
    assert gs not in placed  # ours stays
