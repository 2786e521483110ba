"""Call one hook implementation with the keyword arguments it asks for.

The core calls implementations one by one where it needs to know which plugin answered, isolate
a failure to one plugin, or await async implementations; pluggy lets an implementation accept
any subset of a hook's parameters, so each call passes only the names it declares.
"""

from __future__ import annotations

from typing import Any

import pluggy


def call_impl(impl: pluggy.HookImpl, **available: Any) -> Any:
    return impl.function(**{name: available[name] for name in impl.argnames if name in available})
