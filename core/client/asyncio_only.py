"""Import httpcore as an asyncio-only program sees it: without trio, even where trio is installed.

Why: ``httpcore._synchronization`` imports trio at import time whenever it is installed, to pick
its locks when running under trio. This program runs only on asyncio, and a
production install has no trio; a development one has it for selenium (the browser tests), and
importing it there cost ~0.1-0.2 s of every command's start (``python -X importtime``), more than
the rest of the HTTP stack. ``None`` in ``sys.modules`` makes that one ``import trio`` fail as if
trio were absent (the documented meaning of ``None`` there); the entry is removed right after, so
trio stays importable by anything else. The package ``__init__`` imports this module first.
"""

from __future__ import annotations

import sys

_hide = "trio" not in sys.modules
if _hide:
    sys.modules["trio"] = None  # type: ignore[assignment]
try:
    import httpcore
finally:
    if _hide:
        del sys.modules["trio"]

__all__ = ["httpcore"]
