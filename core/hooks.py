"""The one hook runner: how the core calls plugins' hook implementations.

Most call sites need to know which plugin answered, isolate one plugin's failure, or await an
async implementation, so they call implementations one at a time through :class:`Implementation`
(in pluggy's own call order: ``tryfirst`` first, then last registered first). The first-result
rule for async hooks (``refetch``) lives in :meth:`HookRunner.first_async`; the hot per-resource
hooks (``map_resource``, ``decorate_entity``) go through pluggy's own ``pm.hook`` callers, which
are the only ones where hook wrappers are allowed.

``OPENCHOREO_SYNC_TRACE_HOOKS=1`` logs every hook call (plugin, hook, duration, outcome) through
the ``openchoreo_sync.hooks`` logger, like datasette's ``DATASETTE_TRACE_PLUGINS``.
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pluggy
import structlog

TRACE_ENV = "OPENCHOREO_SYNC_TRACE_HOOKS"
"""Set to ``1`` (or ``true``) to log every hook call."""

WRAPPABLE = frozenset({"map_resource", "decorate_entity"})
"""Hooks the core calls through pluggy itself, where ``wrapper=True`` / ``hookwrapper=True`` work."""


def tracing_requested(env: Mapping[str, str] | None = None) -> bool:
    value = (os.environ if env is None else env).get(TRACE_ENV, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def _outcome(result: Any) -> str:
    if result is None:
        return "None"
    if isinstance(result, list | tuple | set | dict):
        return f"{type(result).__name__}[{len(result)}]"
    return type(result).__name__


@dataclass(frozen=True)
class Implementation:
    """One plugin's implementation of one hook, callable with whatever arguments are available.

    pluggy lets an implementation accept any subset of a hook's parameters, so a call passes only
    the names it declares.
    """

    plugin: str
    hook: str
    impl: pluggy.HookImpl
    trace: Any = None
    """The tracing logger, or None when tracing is off."""

    def __call__(self, **available: Any) -> Any:
        arguments = {name: available[name] for name in self.impl.argnames if name in available}
        if self.trace is None:
            return self.impl.function(**arguments)
        started = time.perf_counter()
        try:
            result = self.impl.function(**arguments)
        except BaseException as exc:
            self._log(started, f"raised {type(exc).__name__}")
            raise
        if inspect.isawaitable(result):
            return self._traced_await(result, started)
        if isinstance(result, AsyncIterator):
            return self._traced_iteration(result, started)
        self._log(started, _outcome(result))
        return result

    def _log(self, started: float, outcome: str) -> None:
        self.trace.info(
            "hook call",
            hook=self.hook,
            plugin=self.plugin,
            seconds=round(time.perf_counter() - started, 6),
            outcome=outcome,
        )

    async def _traced_await(self, awaitable: Awaitable[Any], started: float) -> Any:
        try:
            result = await awaitable
        except BaseException as exc:
            self._log(started, f"raised {type(exc).__name__}")
            raise
        self._log(started, _outcome(result))
        return result

    async def _traced_iteration(self, iterator: AsyncIterator[Any], started: float) -> AsyncIterator[Any]:
        count = 0
        try:
            async for item in iterator:
                count += 1
                yield item
        except BaseException as exc:
            self._log(started, f"raised {type(exc).__name__} after {count} item(s)")
            raise
        self._log(started, f"{count} item(s)")


class HookRunner:
    """Calls the registered plugins' hooks; made once per plugin manager."""

    def __init__(self, pm: pluggy.PluginManager, *, trace: bool | None = None) -> None:
        self.pm = pm
        self.trace = (
            structlog.get_logger("openchoreo_sync.hooks") if (tracing_requested() if trace is None else trace) else None
        )
        if self.trace is not None:
            self._monitor_pluggy_calls()

    def each(self, hook: str) -> list[Implementation]:
        """Every implementation of ``hook``, in the order pluggy would call them."""
        impls = getattr(self.pm.hook, hook).get_hookimpls()
        return [Implementation(impl.plugin_name, hook, impl, self.trace) for impl in reversed(impls)]

    async def first_async(self, hook: str, **available: Any) -> tuple[str, Any] | None:
        """The first implementation's non-None result, awaiting each answer that is awaitable.

        pluggy's own ``firstresult`` stops at the first non-None *return value*, and a coroutine is
        one even when it resolves to None; here "not mine" may be said either way.
        """
        for implementation in self.each(hook):
            result = implementation(**available)
            if inspect.isawaitable(result):
                result = await result
            if result is not None:
                return implementation.plugin, result
        return None

    def caller(self, hook: str) -> Any:
        """pluggy's own caller of ``hook`` (all implementations, wrappers honoured), for hot hooks."""
        return getattr(self.pm.hook, hook)

    def first_result(self, hook: str, names: tuple[str, ...]) -> Callable[..., Any]:
        """A caller of the ``firstresult`` hook ``hook`` taking ``names``' values in that order.

        ``map_resource`` runs once per resource (~12,000 times at 10k components) and pluggy's
        call machinery (keyword checks, ``_multicall``'s per-implementation argument lists and
        exception bookkeeping) was ~10 % of mapping. When no implementation is a wrapper, none
        takes keyword-only arguments and calls are not traced, pluggy's ``firstresult`` call is a
        plain loop in pluggy's order (last registered first, ``tryfirst``/``trylast`` honoured by
        ``get_hookimpls``) that stops at the first non-None result, so that is what this returns;
        otherwise pluggy's own caller, with the same positional-to-keyword signature.
        """
        caller = self.caller(hook)
        impls = caller.get_hookimpls()
        if self.trace is not None or any(i.hookwrapper or i.wrapper or i.kwargnames for i in impls):
            return lambda *values: caller(**dict(zip(names, values, strict=True)))
        for impl in impls:
            missing = [name for name in impl.argnames if name not in names]
            if missing:
                raise pluggy.HookCallError(f"hook call must provide argument {missing[0]!r}")
        plan = [
            (impl.function, None if tuple(impl.argnames) == names else [names.index(a) for a in impl.argnames])
            for impl in reversed(impls)
        ]

        def call(*values: Any) -> Any:
            for function, picks in plan:
                result = function(*values) if picks is None else function(*[values[i] for i in picks])
                if result is not None:
                    return result
            return None

        return call

    def _monitor_pluggy_calls(self) -> None:
        trace = self.trace
        assert trace is not None
        starts: list[float] = []

        def before(hook_name: str, impls: Any, kwargs: Any) -> None:
            starts.append(time.perf_counter())

        def after(outcome: Any, hook_name: str, impls: Any, kwargs: Any) -> None:
            started = starts.pop() if starts else time.perf_counter()
            error = outcome.exception
            trace.info(
                "hook call",
                hook=hook_name,
                plugins=[impl.plugin_name for impl in reversed(impls)],
                seconds=round(time.perf_counter() - started, 6),
                outcome=f"raised {type(error).__name__}" if error is not None else _outcome(outcome.get_result()),
            )

        self.pm.add_hookcall_monitoring(before, after)


def unsupported_wrappers(pm: pluggy.PluginManager) -> list[str]:
    """One problem per hook wrapper on a hook the core calls implementation by implementation."""
    problems = []
    for name in sorted(dir(pm.hook)):
        caller = getattr(pm.hook, name)
        if name.startswith("_") or not isinstance(caller, pluggy.HookCaller) or name in WRAPPABLE:
            continue
        for impl in caller.get_hookimpls():
            if impl.hookwrapper or impl.wrapper:
                problems.append(
                    f"plugin {impl.plugin_name!r}: a hook wrapper on {name!r} is not supported (the core calls each "
                    f"{name} implementation on its own, to isolate failures and await results); implement a plain "
                    f"{name} hook instead. Wrappers work on: {', '.join(sorted(WRAPPABLE))}"
                )
    return problems
