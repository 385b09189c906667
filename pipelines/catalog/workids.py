"""Stable work ids: which id each newly computed cluster keeps.

Resolution recomputes clusters from scratch; ids must not follow. The rule, applied to the old
ids in ascending order: an old work id goes to the cluster now holding its oldest record that
is still attached (so when a work splits, the part with the oldest evidence keeps the id). If
that cluster already kept an older id, the old id is retired as *merged* into it (so when works
merge, the survivor is the older id). An old id with no attached record left is retired as
*dissolved*. Clusters that kept no id get new ones, never reused.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class IdPlan:
    kept: list[int | None]  # per cluster: the old id it keeps, or None (it needs a new id)
    merged: dict[int, int]  # retired id -> the id that now holds its oldest record
    dissolved: list[int]  # retired ids with no attached record left


def plan_ids(
    clusters: Sequence[Sequence[int]],
    old_work: Mapping[int, int | None],
    age: Mapping[int, Hashable],
) -> IdPlan:
    """``clusters``: record ids per cluster; ``old_work``: record id -> the work id it had;
    ``age``: record id -> a sort key, oldest first (first seen, then record id)."""
    cluster_of = {rid: i for i, members in enumerate(clusters) for rid in members}
    records_of: dict[int, list[int]] = defaultdict(list)
    for rid, wid in old_work.items():
        if wid is not None:
            records_of[wid].append(rid)
    kept: list[int | None] = [None] * len(clusters)
    merged: dict[int, int] = {}
    dissolved: list[int] = []
    for wid in sorted(records_of):
        attached = [r for r in records_of[wid] if r in cluster_of]
        if not attached:
            dissolved.append(wid)
            continue
        target = cluster_of[min(attached, key=lambda r: age[r])]  # type: ignore[arg-type,return-value]
        if kept[target] is None:
            kept[target] = wid
        else:
            merged[wid] = kept[target]  # type: ignore[assignment]
    return IdPlan(kept=kept, merged=merged, dissolved=dissolved)
