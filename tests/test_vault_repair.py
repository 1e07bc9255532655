"""Crash recovery on open: a torn last line goes to local-cache/quarantine, the file is cut."""

from __future__ import annotations

import json

from tests.support.core_fixtures import NODE, cli, make_vault, rollup
from vault_agent.vault import Vault
from vault_agent.vault.atomic import atomic_write_text, torn_tail


def _setup(tmp_path):
    v = make_vault(tmp_path)
    rel = v.append_rollups([rollup(i=0), rollup(i=1)])[0]
    return v, rel, v.path(rel).read_bytes()


def test_torn_tail_without_newline_is_quarantined(tmp_path, caplog):
    v, rel, whole = _setup(tmp_path)
    fragment = b'{"v":1,"node":"alpaca-1","sensor":"kitch'
    with open(v.path(rel), "ab") as fh:
        fh.write(fragment)
    caplog.set_level("WARNING", logger="vault_agent")
    v2 = Vault.open(v.root)
    assert v2.path(rel).read_bytes() == whole
    q = v2.quarantined()
    assert len(q) == 1 and q[0].startswith(f"agents/{NODE}/local-cache/quarantine/")
    assert v2.path(q[0]).read_bytes() == fragment
    log = (v2.cache_dir("quarantine") / "quarantine.log").read_text()
    assert "2025-10-14.jsonl" in log and str(len(fragment)) in log
    assert "repaired torn last line" in caplog.text
    assert len(list(v2.iter_rollups(NODE))) == 2
    # appends go on after the repaired line
    v2.append_rollups([rollup(i=2)])
    assert len(list(v2.iter_rollups(NODE))) == 3


def test_invalid_json_last_line_with_newline_is_quarantined(tmp_path):
    v, rel, whole = _setup(tmp_path)
    with open(v.path(rel), "ab") as fh:
        fh.write(b"\x00\x00\x00\x00\x00\n")  # a block extended before its data hit the disk
    v2 = Vault.open(v.root)
    assert v2.path(rel).read_bytes() == whole
    assert v2.path(v2.quarantined()[0]).read_bytes() == b"\x00\x00\x00\x00\x00\n"


def test_valid_but_bad_last_line_is_left_for_check(tmp_path):
    v, rel, _ = _setup(tmp_path)
    with open(v.path(rel), "ab") as fh:
        fh.write(b"[1, 2]\n")  # valid JSON, wrong schema: a bad record, not a torn write
    before = v.path(rel).read_bytes()
    v2 = Vault.open(v.root)
    assert v2.path(rel).read_bytes() == before and v2.quarantined() == []
    r = cli("check", "--vault", str(v.root))
    assert r.exit_code == 1 and f"{rel}:3: rollup line is a JSON list" in r.output


def test_repeated_tears_never_overwrite_a_fragment(tmp_path):
    v, rel, whole = _setup(tmp_path)
    for frag in (b'{"v":1', b'{"v":1,"no'):
        with open(v.path(rel), "ab") as fh:
            fh.write(frag)
        Vault.open(v.root)
    v2 = Vault.open(v.root)
    frags = sorted(v2.path(q).read_bytes() for q in v2.quarantined())
    assert frags == [b'{"v":1', b'{"v":1,"no']
    assert v2.path(rel).read_bytes() == whole


def test_open_without_repair_and_other_nodes_untouched(tmp_path):
    v, rel, whole = _setup(tmp_path)
    other = v.root / "agents/llama/sensors/2025/10/2025-10-14.jsonl"
    other.parent.mkdir(parents=True)
    other.write_bytes(b'{"v":1,"node":"llama"')  # another node's file: not ours to repair
    with open(v.path(rel), "ab") as fh:
        fh.write(b"{")
    Vault.open(v.root, repair=False)
    assert v.path(rel).read_bytes() == whole + b"{"
    Vault.open(v.root)
    assert other.read_bytes() == b'{"v":1,"node":"llama"'
    assert v.path(rel).read_bytes() == whole


def test_check_reports_torn_tail_without_touching_it(tmp_path):
    v, rel, whole = _setup(tmp_path)
    with open(v.path(rel), "ab") as fh:
        fh.write(b'{"v":1')
    r = cli("check", "--vault", str(v.root))
    assert r.exit_code == 1
    assert f"{rel}:3: invalid JSON" in r.output
    assert f"{rel}:3: last line is not newline-terminated (torn write)" in r.output
    assert v.path(rel).read_bytes() == whole + b'{"v":1'


def test_torn_tail_reads_only_the_tail(tmp_path):
    p = tmp_path / "big.jsonl"
    line = json.dumps({"x": "y" * 100}) + "\n"
    p.write_text(line * 5000 + '{"x"')
    cut, frag = torn_tail(p)
    assert frag == b'{"x"' and cut == len(line) * 5000
    p.write_text("no newline at all")
    assert torn_tail(p) == (0, b"no newline at all")


def test_atomic_write_leaves_old_or_new_and_no_temp(tmp_path):
    p = tmp_path / "f.json"
    atomic_write_text(p, "old")
    p.chmod(0o640)
    atomic_write_text(p, "new")
    assert p.read_text() == "new"
    assert (p.stat().st_mode & 0o777) == 0o640  # mode of the replaced file kept
    assert [x.name for x in tmp_path.iterdir()] == ["f.json"]


def test_foreign_unterminated_line_is_left_and_next_append_starts_a_new_line(tmp_path):
    v, rel, whole = _setup(tmp_path)
    with open(v.path(rel), "ab") as fh:
        fh.write(b"note from a person")  # not a cut-off append of ours: not cut
    v2 = Vault.open(v.root)
    assert v2.quarantined() == []
    assert v2.path(rel).read_bytes() == whole + b"note from a person"
    v2.append_rollups([rollup(i=2)])
    errors = []
    got = list(v2.iter_rollups(NODE, errors=errors))
    assert len(got) == 3 and [e.line for e in errors] == [3]


def test_open_waits_for_an_append_in_flight_instead_of_cutting_it(tmp_path):
    import subprocess
    import sys
    import time

    v, rel, whole = _setup(tmp_path)
    line = (rollup(i=2).to_json() + "\n").encode()
    code = f"from vault_agent.vault import Vault; Vault.open({str(v.root)!r}); print('opened')"
    with v._append_lock():  # what append_rollups holds while its write() is copied
        with open(v.path(rel), "ab") as fh:
            fh.write(line[:20])  # a reader sees a half-written multi-page append
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        time.sleep(0.8)
        assert proc.poll() is None  # Vault.open in another process waits for the lock
        assert v.path(rel).read_bytes() == whole + line[:20]
        with open(v.path(rel), "ab") as fh:
            fh.write(line[20:])
    out, _ = proc.communicate(timeout=30)
    assert out.strip() == "opened"
    assert v.path(rel).read_bytes() == whole + line
    assert Vault.open(v.root).quarantined() == []
