"""``HookRunner.first_result``: the mapper's own loop over ``map_resource`` gives pluggy's answer.

The mapper calls ``map_resource`` through a plain loop when no implementation is a wrapper
(``hooks.HookRunner.first_result``); these check it against pluggy's own ``firstresult`` call on
the same plugins: the same order (``tryfirst``, ``trylast``, last registered first), the same
argument subsets, the same first non-None answer, the same exception, and pluggy itself as soon
as a wrapper is registered.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pluggy
import pytest

from openchoreo_sync import hookspecs
from openchoreo_sync.hooks import HookRunner
from openchoreo_sync.hookspecs import PROJECT, hookimpl
from openchoreo_sync.model import Resource

NAMES = ("resource", "ctx")


class Answers:
    """Maps one kind, noting every call it receives."""

    def __init__(self, name: str, kind: str, calls: list[str]) -> None:
        self.name, self.kind, self.calls = name, kind, calls

    @hookimpl
    def map_resource(self, resource: Resource, ctx: Any) -> list[dict[str, Any]] | None:
        self.calls.append(self.name)
        return [{"by": self.name, "ctx": ctx}] if resource.kind == self.kind else None


class ResourceOnly:
    """Takes a subset of the hook's arguments, in another order than the spec's."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    @hookimpl(trylast=True)
    def map_resource(self, resource: Resource) -> list[dict[str, Any]] | None:
        self.calls.append("resource-only")
        return [{"by": "resource-only"}] if resource.kind in ("Thing", "Late") else None


class First:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    @hookimpl(tryfirst=True)
    def map_resource(self, ctx: Any, resource: Resource) -> list[dict[str, Any]] | None:
        self.calls.append("first")
        if resource.kind == "Broken":
            raise ValueError("cannot map this one")
        return [] if resource.kind == "Empty" else None


def manager(calls: list[str]) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(ResourceOnly(calls), name="resource-only")
    pm.register(Answers("a", "Thing", calls), name="a")
    pm.register(First(calls), name="first")
    pm.register(Answers("b", "Thing", calls), name="b")  # registered last: asked before a
    pm.register(Answers("c", "Other", calls), name="c")
    return pm


KINDS = ["Thing", "Other", "Empty", "Late", "Unknown"]


@pytest.mark.parametrize("kind", KINDS)
def test_same_answer_and_calls_as_pluggy(kind: str) -> None:
    mine: list[str] = []
    pluggys: list[str] = []
    resource = Resource(kind, {"metadata": {"name": "x"}}, "ns")
    fast = HookRunner(manager(mine), trace=False).first_result("map_resource", NAMES)
    expected = manager(pluggys).hook.map_resource(resource=resource, ctx="the-ctx")
    assert fast(resource, "the-ctx") == expected
    assert mine == pluggys  # the same implementations, in the same order, up to the same one


def test_the_answers_themselves() -> None:
    calls: list[str] = []
    fast = HookRunner(manager(calls), trace=False).first_result("map_resource", NAMES)
    assert fast(Resource("Thing", {}), 1) == [{"by": "b", "ctx": 1}]
    assert calls == ["first", "c", "b"]
    assert fast(Resource("Empty", {}), 1) == []  # an empty list is an answer: nobody after is asked
    assert fast(Resource("Late", {}), 1) == [{"by": "resource-only"}]
    assert fast(Resource("Unknown", {}), 1) is None


def test_an_exception_propagates_unchanged() -> None:
    fast = HookRunner(manager([]), trace=False).first_result("map_resource", NAMES)
    with pytest.raises(ValueError, match="cannot map this one"):
        fast(Resource("Broken", {}), None)


class Wrapper:
    @hookimpl(wrapper=True)
    def map_resource(self, resource: Resource) -> Generator[None, Any, Any]:
        result = yield
        return [*(result or []), {"by": "wrapper"}]


def test_a_wrapper_sends_every_call_through_pluggy() -> None:
    pm = manager([])
    pm.register(Wrapper(), name="wrapper")
    fast = HookRunner(pm, trace=False).first_result("map_resource", NAMES)
    assert fast(Resource("Other", {}), 2) == [{"by": "c", "ctx": 2}, {"by": "wrapper"}]
    assert fast(Resource("Unknown", {}), 2) == [{"by": "wrapper"}]
