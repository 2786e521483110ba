"""Sort matched refs by search values, the way Backstage orders ``/entities``.

Values are the lower-cased search values (Backstage sorts on the same column), compared
byte-wise. Entities without a value for a field sort after those with one, in either direction.
An entity with several values (an array) sorts by its first value in the requested direction.
Ties fall back to the next field, finally to the ref (ascending).
"""

from __future__ import annotations

from .params import OrderSpec


def sort_key_value(values: list[str | None] | None, descending: bool) -> str | None:
    """The one value an entity sorts by for a field (None: it has no usable value)."""
    present = [v for v in values or () if v is not None]
    if not present:
        return None
    return max(present) if descending else min(present)


def sort_refs(refs: list[str], specs: list[OrderSpec], values: dict[str, dict[str, list[str | None]]]) -> list[str]:
    """``refs`` (already ascending) stably sorted by each spec, least significant first."""
    ordered = list(refs)
    for spec in reversed(specs):
        by_ref = values.get(spec.field, {})
        keyed = {ref: sort_key_value(by_ref.get(ref), spec.descending) for ref in ordered}
        if spec.descending:
            ordered.sort(key=lambda r: (keyed[r] is not None, keyed[r] or ""), reverse=True)
        else:
            ordered.sort(key=lambda r: (keyed[r] is None, keyed[r] or ""))
    return ordered
