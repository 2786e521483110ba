"""Whether one event may remove what its re-fetch no longer finds: the full sync's safety rules.

A full sync removes an entity only when its collection was fetched completely, after
``deletionGraceRuns`` such runs, and only if the run stays within ``maxDeletionRatio`` and does
not suddenly empty a collection (``emptyCollectionRuns``). An event must not be a way around
them: 19 events against a namespace a gateway misrouted once removed 28 entities at once. So a
removal by event is held, and left to the full syncs (which carry the entities and count their
misses), whenever a full sync would not have removed it at once:

- grace: ``deletionGraceRuns`` > 1 means an absence must be seen in that many complete runs;
- empty source: the removal would leave a collection that holds entities with none, while
  ``emptyCollectionRuns`` > 1 asks for that to be seen in several runs;
- ratio: what events removed since the last full sync, with this removal, exceeds
  ``maxDeletionRatio`` of the catalog (unless ``allowMassDeletion``).

Whether the resource is gone at all (its own 404 while its namespace answers) is the family's
check (``Refetched.confirmed``); this module only applies the rules, knowing no kind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from .config import SafetyConfig


def removal_hold(
    *,
    removed: Mapping[str, str],
    collection_sizes: Mapping[str, int],
    added_to: Mapping[str, int],
    catalog_size: int,
    removed_since_full: int,
    safety: SafetyConfig,
) -> str | None:
    """Why these removals must wait for a full sync, or None when the event may apply them.

    ``removed`` maps each ref to its stored collection; ``collection_sizes`` is what each of those
    collections holds now; ``added_to`` counts the entities the event writes into a collection;
    ``catalog_size`` is the stored entity count; ``removed_since_full`` what events removed since
    the last full sync committed.
    """
    if not removed:
        return None
    if safety.deletion_grace_runs > 1:
        return (
            f"openchoreo.safety.deletionGraceRuns is {safety.deletion_grace_runs}: a removal waits for that many "
            "complete full syncs"
        )
    if safety.empty_collection_runs > 1:
        for collection, count in sorted(Counter(removed.values()).items()):
            left = collection_sizes.get(collection, 0) - count + added_to.get(collection, 0)
            if left <= 0:
                return (
                    f"the removal would empty {collection} ({count} entities); openchoreo.safety.emptyCollectionRuns "
                    f"({safety.empty_collection_runs}) asks full syncs to see it empty first"
                )
    if not safety.allow_mass_deletion:
        total = removed_since_full + len(removed)
        base = max(catalog_size + removed_since_full, 1)
        if total / base > safety.max_deletion_ratio:
            return (
                f"events would have removed {total} of {base} entities since the last full sync ({total / base:.0%}), "
                f"more than openchoreo.safety.maxDeletionRatio ({safety.max_deletion_ratio:.0%})"
            )
    return None
