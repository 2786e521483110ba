"""An example third-party plugin, installed as its own distribution with an entry point.

It adds a kind the built-in families do not sync (OpenChoreo ReleaseBinding -> a
``ReleaseBinding`` entity related to its component and environment), and, when
``overrideComponents`` is on, replaces the built-in Component mapper with its own.
It is opt-in (``default_enabled=False``): enable it with ``openchoreo.plugins.example.enabled: true``.
It imports only the plugin kit (``openchoreo_sync.kit``), as every plugin must; the same package
ships an example output plugin, :mod:`.output` (entry point ``example_output``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, ConfigDict

from openchoreo_sync.kit import (
    Collection,
    EntityIndex,
    PluginInfo,
    Relation,
    Resource,
    SyncContext,
    hookimpl,
    make_ref,
)
from openchoreo_sync.kit import relations as rel
from openchoreo_sync.kit.endpoints import namespaced_path

NAME = "example"
DEPLOYS = "deploys"
DEPLOYED_AS = "deployedAs"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    overrideComponents: bool = False


@hookimpl
def plugin_info() -> PluginInfo:
    return PluginInfo(
        description="Example: ReleaseBinding entities, and an optional Component mapper override",
        kinds=("ReleaseBinding",),
        mapping=(("ReleaseBinding", "ReleaseBinding"),),
        settings=Settings,
        relation_pairs=((DEPLOYED_AS, DEPLOYS),),
        default_enabled=False,
    )


@hookimpl
async def fetch(ctx: SyncContext) -> AsyncIterator[Collection]:
    for namespace in await ctx.namespace_names():
        yield await ctx.walk(
            "releasebindings",
            namespaced_path(namespace, "releasebindings"),
            kind="ReleaseBinding",
            namespace=namespace,
        )


@hookimpl(tryfirst=True)
def map_resource(resource: Resource, ctx: SyncContext) -> list[dict[str, Any]] | None:
    if resource.kind == "ReleaseBinding":
        return [_binding(resource)]
    if resource.kind == "Component" and ctx.settings(NAME).overrideComponents:
        return [_component(resource, ctx)]
    return None


def _binding(resource: Resource) -> dict[str, Any]:
    spec = resource.body.get("spec", {})
    owner = spec.get("owner", {})
    return {
        "apiVersion": "example.openchoreo.dev/v1alpha1",
        "kind": "ReleaseBinding",
        "metadata": {
            "name": resource.name,
            "namespace": resource.namespace,
            "annotations": {"example.openchoreo.dev/environment": str(spec.get("environment", ""))},
        },
        "spec": {
            "component": str(owner.get("componentName", "")),
            "environment": str(spec.get("environment", "")),
            "state": str(spec.get("state", "Active")),
        },
    }


def _component(resource: Resource, ctx: SyncContext) -> dict[str, Any]:
    spec = resource.body.get("spec", {})
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": resource.name,
            "namespace": resource.namespace,
            "annotations": {"example.openchoreo.dev/mapped-by": "example-plugin"},
        },
        "spec": {
            "type": "example-service",
            "lifecycle": "experimental",
            "owner": ctx.default_owner,
            "system": str(spec.get("owner", {}).get("projectName", "")),
        },
    }


@hookimpl
def relate(entities: EntityIndex) -> list[Relation]:
    out = []
    for binding in entities.by_kind("ReleaseBinding"):
        namespace = binding["metadata"]["namespace"]
        source = make_ref("ReleaseBinding", namespace, binding["metadata"]["name"])
        out.append(Relation(source, DEPLOYED_AS, make_ref("Component", namespace, binding["spec"]["component"])))
        out.append(Relation(source, rel.DEPLOYS_TO, make_ref("Environment", namespace, binding["spec"]["environment"])))
    return out
