"""The six OpenChoreo type kinds a Template is generated from, and where each one's schema comes from."""

from __future__ import annotations

from dataclasses import dataclass

from openchoreo_sync.kit.endpoints import Endpoint


@dataclass(frozen=True)
class TemplateSource:
    """One type kind: its list endpoint, and the kind of the resources this family hands its mappers.

    ``resource_kind`` is not the wire kind (``ComponentType``) on purpose: the type family maps
    that one, and mappers are chosen by resource kind, so the Template's source resource needs its
    own (``ComponentTypeTemplate``). A third party overrides one generator by answering
    ``map_resource`` first for that kind.
    """

    endpoint: Endpoint
    family: str
    """``component``, ``project`` or ``resource``"""
    reads_schema: bool
    """GET ``.../{name}/schema`` (component and resource types); project types carry theirs inline."""

    @property
    def wire_kind(self) -> str:
        return self.endpoint.kind

    @property
    def resource_kind(self) -> str:
        return f"{self.endpoint.kind}Template"

    @property
    def cluster(self) -> bool:
        return self.endpoint.cluster


SOURCES: tuple[TemplateSource, ...] = (
    TemplateSource(Endpoint("componenttypes", "ComponentType"), "component", True),
    TemplateSource(Endpoint("clustercomponenttypes", "ClusterComponentType", cluster=True), "component", True),
    TemplateSource(Endpoint("projecttypes", "ProjectType"), "project", False),
    TemplateSource(Endpoint("clusterprojecttypes", "ClusterProjectType", cluster=True), "project", False),
    TemplateSource(Endpoint("resourcetypes", "ResourceType"), "resource", True),
    TemplateSource(Endpoint("clusterresourcetypes", "ClusterResourceType", cluster=True), "resource", True),
)
BY_EVENT_KIND = {source.endpoint.event_kind: source for source in SOURCES}
BY_RESOURCE_KIND = {source.resource_kind: source for source in SOURCES}
