"""The one hook runner: call order, the async first-result rule, wrappers, tracing, lifecycle errors."""

from __future__ import annotations

import pytest
import structlog
from test_hooks import FAMILIES_OFF, Widgets, harness_for, widget  # same folder (pytest prepend import mode)

from openchoreo_sync import Collection, PluginInfo, Refetched, ResourceEvent, hookimpl
from openchoreo_sync.config import AppConfig
from openchoreo_sync.daemon import call_lifecycle
from openchoreo_sync.errors import PluginError
from openchoreo_sync.hooks import TRACE_ENV, HookRunner
from openchoreo_sync.plugins_manager import load_plugins


def config() -> AppConfig:
    return AppConfig.model_validate({"openchoreo": {"baseUrl": "http://127.0.0.1:1"}})


class Named:
    def __init__(self, name: str, answer: object = None) -> None:
        self.name = name
        self.answer = answer

    @hookimpl
    def plugin_info(self) -> PluginInfo:
        return PluginInfo(description=self.name)

    @hookimpl
    async def refetch(self, event: ResourceEvent) -> object:
        return self.answer  # a coroutine even when the answer is "not mine"


class Eager(Named):
    @hookimpl(tryfirst=True)
    async def refetch(self, event: ResourceEvent) -> object:
        return self.answer


def load(*plugins: tuple[str, object]):
    return load_plugins(config(), extra=plugins, entry_points_list=[])


EVENT = ResourceEvent("widget", "a", "default", "updated")


def test_each_follows_pluggys_call_order_tryfirst_then_last_registered() -> None:
    loaded = load(("first", Named("first")), ("eager", Eager("eager")), ("last", Named("last")))
    assert [i.plugin for i in loaded.each("refetch")] == ["eager", "last", "first"]


async def test_first_async_awaits_each_answer_and_skips_the_ones_that_say_not_mine() -> None:
    answer = Refetched(Collection("widgets", "default"), origin="x", gone=True)
    loaded = load(("mine", Named("mine", answer)), ("not-mine", Named("not-mine")))
    # "not-mine" is called first (registered last) and its coroutine resolves to None: keep going.
    assert await loaded.runner.first_async("refetch", event=EVENT) == ("mine", answer)
    assert await load(("none", Named("none"))).runner.first_async("refetch", event=EVENT) is None


class RelateWrapper(Named):
    @hookimpl(wrapper=True)
    def relate(self, entities):  # type: ignore[no-untyped-def]
        return (yield)


class MapWrapper(Named):
    @hookimpl(wrapper=True)
    def map_resource(self, resource):  # type: ignore[no-untyped-def]
        produced = yield
        for entity in produced or ():
            entity["metadata"].setdefault("labels", {})["wrapped"] = "yes"
        return produced


def test_a_wrapper_on_a_hook_called_one_by_one_is_rejected_at_load_naming_plugin_and_hook() -> None:
    with pytest.raises(PluginError) as caught:
        load(("sneaky", RelateWrapper("sneaky")))
    message = str(caught.value)
    assert "plugin 'sneaky'" in message and "'relate'" in message and "not supported" in message
    assert "map_resource" in message  # says where wrappers do work


async def test_a_wrapper_on_map_resource_works(mock_openchoreo, sync_harness_factory) -> None:
    harness = sync_harness_factory(
        mock_openchoreo.url,
        {"openchoreo": {"plugins": FAMILIES_OFF}},
        extra_plugins=[("widgets", Widgets([widget("a")])), ("wrap", MapWrapper("wrap"))],
    )
    result = await harness.run()
    assert result.entities["widget:default/a"]["metadata"]["labels"] == {"wrapped": "yes"}


async def test_tracing_logs_every_hook_call_with_plugin_and_outcome(
    mock_openchoreo, sync_harness_factory, monkeypatch
) -> None:
    monkeypatch.setenv(TRACE_ENV, "1")
    harness = harness_for(sync_harness_factory, mock_openchoreo, Widgets([widget("a", connects="b"), widget("b")]))
    with structlog.testing.capture_logs() as logs:
        await harness.run()
    calls = [entry for entry in logs if entry["event"] == "hook call"]
    by_hook = {(c["hook"], c.get("plugin")) for c in calls}
    assert ("fetch", "widgets") in by_hook and ("relate", "widgets") in by_hook and ("emit", "widgets") in by_hook
    fetched = next(c for c in calls if c["hook"] == "fetch" and c.get("plugin") == "widgets")
    assert fetched["outcome"] == "1 item(s)"
    mapped = [c for c in calls if c["hook"] == "map_resource"]  # through pluggy's own caller
    assert len(mapped) == 2 and "widgets" in mapped[0]["plugins"] and mapped[0]["outcome"] == "list[1]"


def test_tracing_is_off_unless_asked() -> None:
    assert HookRunner(load().pm).trace is None
    assert HookRunner(load().pm, trace=True).trace is not None


class BrokenStartup(Named):
    @hookimpl
    def on_startup(self, ctx) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("cannot reach the widget registry")


async def test_a_failing_on_startup_names_the_plugin(mock_openchoreo, sync_harness_factory) -> None:
    harness = harness_for(sync_harness_factory, mock_openchoreo, BrokenStartup("broken"))
    with pytest.raises(PluginError, match=r"plugin 'widgets' failed in on_startup: RuntimeError: cannot reach"):
        await call_lifecycle(harness.runtime.plugins, "on_startup", harness.daemon.ctx)
