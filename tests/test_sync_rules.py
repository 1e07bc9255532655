"""The merge rules as pure functions: JSON key-by-key merge and append-only JSONL."""

from __future__ import annotations

import pytest

from vault_agent.sync import jsonmerge, rules


@pytest.mark.parametrize("base,ours,theirs,merged,conflicts", [
    ({"a": 1}, {"a": 1, "b": 2}, {"a": 1, "c": 3}, {"a": 1, "b": 2, "c": 3}, []),
    ({"a": 1}, {"a": 2}, {"a": 1}, {"a": 2}, []),
    ({"a": 1}, {"a": 1}, {"a": 3}, {"a": 3}, []),
    ({"a": 1}, {"a": 2}, {"a": 3}, {"a": 2}, ["a"]),
    ({"a": 1}, {"a": 2}, {"a": 2}, {"a": 2}, []),
    ({"a": 1, "b": 1}, {"b": 1}, {"a": 1, "b": 1}, {"b": 1}, []),          # we deleted a
    ({"a": 1}, {}, {"a": 5}, {"a": 5}, []),                                # edit beats delete
    ({"a": 1}, {"a": 7}, {}, {"a": 7}, []),                                # edit beats delete
    ({"n": {"x": 1, "y": 1}}, {"n": {"x": 2, "y": 1}}, {"n": {"x": 1, "y": 3}},
     {"n": {"x": 2, "y": 3}}, []),                                         # nested objects
    ({"n": {"x": 1}}, {"n": {"x": 2}}, {"n": {"x": 3}}, {"n": {"x": 2}}, ["n.x"]),
    ({}, {"k": [1]}, {"k": [2]}, {"k": [1]}, ["k"]),                       # added both sides
])
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
