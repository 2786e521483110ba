"""What an output may hand back from ``emit``: the problems its target reported.

An output that published but whose target refused part of it (a Backstage that rejected a kind)
did not *fail*: raising would make the engine re-send everything next run for nothing. It returns
an :class:`OutputReport` instead; the engine records the run as ``partial`` and keeps the
problems in the run summary (``output_problems``) so ``status`` names them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class OutputReport:
    """``problems``: one line each, naming the culprit, the target's reason and the fix.

    ``details``: small JSON-able facts for the run summary (``output_details.<output>``).
    """

    problems: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems
