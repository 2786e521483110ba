"""Entity names from directory names, the official module's sanitiser made safe for Backstage.

Upstream lower-cases, turns every character outside ``[a-z0-9-_]`` into ``-``, collapses runs of
``-`` and trims ``-``. Backstage also rejects ``_`` at either end, ``-_``/``__`` runs and names
over 63 characters, which upstream lets through (the entity is then refused); here a run of
separators with a ``-`` in it becomes one ``-``, a run of ``_`` one ``_``, separators are trimmed
at both ends and the name is cut to 63 characters.
"""

from __future__ import annotations

import re

_OUTSIDE = re.compile(r"[^a-z0-9_-]")
_DASH_RUN = re.compile(r"[-_]*-[-_]*")
_UNDERSCORE_RUN = re.compile(r"_{2,}")
MAX_NAME = 63


def sanitise(value: str) -> str:
    """``"Bob.Smith@Example.com"`` -> ``"bob-smith-example-com"``; ``""`` when nothing is left."""
    text = _OUTSIDE.sub("-", value.lower())
    text = _UNDERSCORE_RUN.sub("_", _DASH_RUN.sub("-", text)).strip("-_")
    return text[:MAX_NAME].rstrip("-_")
