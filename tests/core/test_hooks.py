"""One test per hook: a throwaway plugin registered directly, driven through the real engine."""

from __future__ import annotations

import httpx
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from openchoreo_sync import (
    Collection,
    PluginInfo,
    ProbeResult,
    Refetched,
    Relation,
    Resource,
    ResourceEvent,
    hookimpl,
    make_ref,
)
from openchoreo_sync.server import public

FAMILIES_OFF = {
    name: {"enabled": False}
    for name in ("namespaces", "components", "component_types", "cluster_kinds", "platform_planes", "templates")
}


def widget(name: str, **spec) -> dict:
    return {"metadata": {"name": name}, "spec": spec}


class Widgets:
    """A tiny family: Widget resources, each 'connected' to another widget."""

    def __init__(self, items: list[dict]) -> None:
        self.items = items
        self.emitted: list = []
        self.lifecycle: list[str] = []

    @hookimpl
    def plugin_info(self) -> PluginInfo:
        return PluginInfo(description="widgets", kinds=("Widget",), relation_pairs=(("connects", "connectedFrom"),))

    @hookimpl
    async def fetch(self, ctx):
        yield Collection("widgets", "default", [Resource("Widget", item, "default") for item in self.items])

    @hookimpl
    def map_resource(self, resource):
        if resource.kind != "Widget":
            return None
        if resource.body["spec"].get("explode"):
            raise ValueError("explode is set")
        return [
            {
                "apiVersion": "test.example.com/v1",
                "kind": "Widget",
                "metadata": {"name": resource.name, "namespace": "default"},
                "spec": dict(resource.body["spec"]),
            }
        ]

    @hookimpl
    def relate(self, entities):
        for entity in entities.by_kind("Widget"):
            target = entity["spec"].get("connects")
            if target:
                yield Relation(
                    make_ref("Widget", "default", entity["metadata"]["name"]),
                    "connects",
                    make_ref("Widget", "default", target),
                )

    @hookimpl
    async def emit(self, snapshot, changes):
        self.emitted.append((len(snapshot), changes.summary(), changes.full))

    @hookimpl
    def on_startup(self, ctx):
        self.lifecycle.append("startup")

    @hookimpl
    async def probe(self, ctx):
        if ctx.client is not None or ctx.catalog is not None:
            raise AssertionError("a probe gets neither a client nor the catalog")
        return [ProbeResult("widgets", True, f"{len(self.items)} widgets configured")]

    @hookimpl
    async def on_shutdown(self, ctx):
        self.lifecycle.append("shutdown")

    @hookimpl
    def http_routes(self, ctx):
        async def hello(_):
            return PlainTextResponse("widgets")

        return [public(Route("/widgets/hello", hello)), Route("/widgets/private", hello)]

    @hookimpl
    async def refetch(self, event, ctx):
        if event.kind.lower() != "widget":
            return None
        found = [i for i in self.items if i["metadata"]["name"] == event.name]
        return Refetched(
            Collection("widgets", "default", [Resource("Widget", i, "default") for i in found]),
            origin=f"Widget {event.name}",
            gone=not found,
        )


def harness_for(factory, mock, plugin, extra: dict | None = None):
    return factory(
        mock.url, {"openchoreo": {"plugins": FAMILIES_OFF, **(extra or {})}}, extra_plugins=[("widgets", plugin)]
    )


async def test_hook_plugin_info(mock_openchoreo, sync_harness_factory):
    harness = harness_for(sync_harness_factory, mock_openchoreo, Widgets([]))
    record = harness.runtime.plugins.records["widgets"]
    assert record.info.kinds == ("Widget",)
    assert harness.runtime.plugins.inverse["connects"] == "connectedFrom"


async def test_hook_fetch(mock_openchoreo, sync_harness_factory):
    harness = harness_for(sync_harness_factory, mock_openchoreo, Widgets([widget("a"), widget("b")]))
    result = await harness.run()
    assert result.summary["resources"] == 2
    assert set(result.entities) == {"widget:default/a", "widget:default/b"}


async def test_hook_map_resource(mock_openchoreo, sync_harness_factory):
    harness = harness_for(
        sync_harness_factory,
        mock_openchoreo,
        Widgets([widget("ok"), widget("bad", explode=True), widget("Not Valid!")]),
    )
    result = await harness.run()
    assert set(result.entities) == {"widget:default/ok"}
    problems = "\n".join(result.summary["problems"])
    assert "Widget default/bad: cannot be mapped: ValueError: explode is set" in problems
    assert "metadata.name 'Not Valid!'" in problems


async def test_hook_decorate_entity(mock_openchoreo, sync_harness_factory):
    class Decorator:
        @hookimpl
        def plugin_info(self):
            return PluginInfo(description="adds a tag")

        @hookimpl
        def decorate_entity(self, entity, resource):
            entity["metadata"].setdefault("tags", []).append("decorated")
            entity["metadata"].setdefault("annotations", {})["example.com/source"] = resource.kind

    harness = sync_harness_factory(
        mock_openchoreo.url,
        {"openchoreo": {"plugins": FAMILIES_OFF}},
        extra_plugins=[("widgets", Widgets([widget("a")])), ("decorator", Decorator())],
    )
    entity = (await harness.run()).entities["widget:default/a"]
    assert entity["metadata"]["tags"] == ["decorated"]
    assert entity["metadata"]["annotations"]["example.com/source"] == "Widget"


async def test_hook_relate(mock_openchoreo, sync_harness_factory):
    plugin = Widgets([widget("a", connects="b"), widget("b"), widget("c", connects="ghost")])
    harness = harness_for(sync_harness_factory, mock_openchoreo, plugin)
    result = await harness.run()
    assert {"type": "connects", "targetRef": "widget:default/b"} in result.entity("widget:default/a")["relations"]
    assert {"type": "connectedFrom", "targetRef": "widget:default/a"} in result.entity("widget:default/b")["relations"]
    stored = harness.entities()
    assert stored["widget:default/a"]["relations"] == result.entity("widget:default/a")["relations"]
    assert "relations" not in result.entities["widget:default/a"], "the run's entities stay without relations"
    assert result.summary["dangling"] == {"connects -> widget": 1}


async def test_hook_emit(mock_openchoreo, sync_harness_factory):
    plugin = Widgets([widget("a")])
    harness = harness_for(sync_harness_factory, mock_openchoreo, plugin)
    await harness.run()
    await harness.run()  # nothing changed: no emit
    plugin.items.append(widget("b"))
    await harness.run()
    assert plugin.emitted == [
        (1, {"added": 1, "changed": 0, "removed": 0}, True),
        (2, {"added": 1, "changed": 0, "removed": 0}, False),
    ]


async def test_hook_http_routes(mock_openchoreo, sync_harness_factory):
    harness = harness_for(
        sync_harness_factory,
        mock_openchoreo,
        Widgets([]),
        {"server": {"host": "127.0.0.1", "port": 0, "token": "t0ken-hooks"}},
    )
    url = await harness.serve()
    async with httpx.AsyncClient() as http:
        assert (await http.get(url + "/widgets/hello")).text == "widgets"
        denied = await http.get(url + "/widgets/private")
        assert denied.status_code == 401
        assert denied.json()["error"] == {"name": "AuthenticationError", "message": "Missing credentials"}
        allowed = await http.get(url + "/widgets/private", headers={"Authorization": "Bearer t0ken-hooks"})
        assert allowed.status_code == 200


async def test_hook_on_startup(mock_openchoreo, sync_harness_factory):
    plugin = Widgets([])
    harness = harness_for(sync_harness_factory, mock_openchoreo, plugin)
    await harness.start()
    assert plugin.lifecycle == ["startup"]


async def test_hook_on_shutdown(mock_openchoreo, sync_harness_factory):
    plugin = Widgets([])
    harness = harness_for(sync_harness_factory, mock_openchoreo, plugin)
    await harness.start()
    await harness.daemon.stop()
    assert plugin.lifecycle == ["startup", "shutdown"]


async def test_hook_probe(mock_openchoreo, sync_harness_factory):
    from openchoreo_sync.plugin_probe import probe_plugins

    class Broken:
        @hookimpl
        def plugin_info(self) -> PluginInfo:
            return PluginInfo(description="broken probe")

        @hookimpl
        def probe(self):
            raise RuntimeError("no route to host")

    harness = sync_harness_factory(
        mock_openchoreo.url,
        {"openchoreo": {"plugins": FAMILIES_OFF}},
        extra_plugins=[("widgets", Widgets([widget("a")])), ("broken", Broken())],
    )
    results = await probe_plugins(harness.engine.config, harness.engine.plugins)
    assert ProbeResult("widgets", True, "1 widgets configured") in results
    (broken,) = [r for r in results if r.name == "broken"]
    assert not broken.ok and "no route to host" in broken.detail


async def test_hook_refetch(mock_openchoreo, sync_harness_factory):
    from openchoreo_sync.delta import apply_refetched

    plugin = Widgets([widget("a", connects="b"), widget("b")])
    harness = harness_for(sync_harness_factory, mock_openchoreo, plugin)
    await harness.run()
    plugin.items[:] = [widget("b")]
    event = ResourceEvent("widget", "a", "default", "deleted")
    ctx = harness.engine.context("ev-test")
    refetched = await plugin.refetch(event, ctx)
    assert refetched.gone
    result = await apply_refetched(harness.engine.writer, "widgets", event, refetched, ctx, "ev-test")
    assert result.changes.removed == ["widget:default/a"]
    assert result.changes.changed == ["widget:default/b"]  # lost its inverse relation
    assert harness.entities()["widget:default/b"]["relations"] == []
