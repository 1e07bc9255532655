"""Replication over git between nodes and the NAS hub (docs/architecture.md §3).

Modules: :mod:`.peers` (who to sync with), :mod:`.transport` (fetch/push with a
timeout), :mod:`.state` (per-peer retry state and backoff), :mod:`.provenance` (who wrote a
file version), :mod:`.merge`, :mod:`.rules` and :mod:`.jsonmerge` (the merge rules),
:mod:`.worktree` (crash-safe checkout of a merge), :mod:`.sync` (the orchestration),
:mod:`.conflicts` (conflict copies), :mod:`.status` (the ``vault status`` section).
"""
