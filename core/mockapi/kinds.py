"""Registry of the OpenChoreo collections the mock serves.

One table drives routing, storage, 404 wording and event names, so adding a kind is a
one-line change and the server, the world and the webhook events can never disagree on
how a kind is spelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Scope = Literal["root", "namespace", "cluster"]

API_VERSION = "openchoreo.dev/v1alpha1"
CONTROL_PLANE_LABEL = "openchoreo.dev/control-plane"


@dataclass(frozen=True)
class KindInfo:
    """How one collection is addressed and named.

    ``collection`` is the URL segment (``components``), ``kind`` the wire ``kind`` of its
    items and the word used in ``"<Kind> not found"``, ``event_kind`` the lowercase name
    used in webhook events, and ``filter_param`` the extra list query parameter.
    """

    collection: str
    kind: str
    scope: Scope
    schema: str
    filter_param: str | None = None

    @property
    def event_kind(self) -> str:
        return self.kind.lower()

    @property
    def list_schema(self) -> str:
        return f"{self.schema}List"


_ALL: tuple[KindInfo, ...] = (
    KindInfo("namespaces", "Namespace", "root", "Namespace"),
    KindInfo("projects", "Project", "namespace", "Project"),
    KindInfo("components", "Component", "namespace", "Component", "project"),
    KindInfo("workloads", "Workload", "namespace", "Workload", "component"),
    KindInfo("releasebindings", "ReleaseBinding", "namespace", "ReleaseBinding", "component"),
    KindInfo("environments", "Environment", "namespace", "Environment"),
    KindInfo("deploymentpipelines", "DeploymentPipeline", "namespace", "DeploymentPipeline"),
    KindInfo("dataplanes", "DataPlane", "namespace", "DataPlane"),
    KindInfo("workflowplanes", "WorkflowPlane", "namespace", "WorkflowPlane"),
    KindInfo("observabilityplanes", "ObservabilityPlane", "namespace", "ObservabilityPlane"),
    KindInfo("componenttypes", "ComponentType", "namespace", "ComponentType"),
    KindInfo("traits", "Trait", "namespace", "Trait"),
    KindInfo("workflows", "Workflow", "namespace", "Workflow"),
    KindInfo("projecttypes", "ProjectType", "namespace", "ProjectType"),
    KindInfo("resourcetypes", "ResourceType", "namespace", "ResourceType"),
    # The schema is named ResourceInstance, but the wire kind is Resource.
    KindInfo("resources", "Resource", "namespace", "ResourceInstance", "project"),
    KindInfo(
        "observabilityalertsnotificationchannels",
        "ObservabilityAlertsNotificationChannel",
        "namespace",
        "ObservabilityAlertsNotificationChannel",
    ),
    KindInfo("clustercomponenttypes", "ClusterComponentType", "cluster", "ClusterComponentType"),
    KindInfo("clustertraits", "ClusterTrait", "cluster", "ClusterTrait"),
    KindInfo("clusterworkflows", "ClusterWorkflow", "cluster", "ClusterWorkflow"),
    KindInfo("clusterprojecttypes", "ClusterProjectType", "cluster", "ClusterProjectType"),
    KindInfo("clusterresourcetypes", "ClusterResourceType", "cluster", "ClusterResourceType"),
    KindInfo("clusterdataplanes", "ClusterDataPlane", "cluster", "ClusterDataPlane"),
    KindInfo("clusterworkflowplanes", "ClusterWorkflowPlane", "cluster", "ClusterWorkflowPlane"),
    KindInfo("clusterobservabilityplanes", "ClusterObservabilityPlane", "cluster", "ClusterObservabilityPlane"),
)

KINDS: dict[str, KindInfo] = {k.collection: k for k in _ALL}
NAMESPACED: tuple[str, ...] = tuple(k.collection for k in _ALL if k.scope == "namespace")
CLUSTER: tuple[str, ...] = tuple(k.collection for k in _ALL if k.scope == "cluster")


def kind_info(collection: str) -> KindInfo:
    """Look a collection up, failing loudly on typos in tests."""
    try:
        return KINDS[collection]
    except KeyError:
        raise KeyError(f"unknown collection {collection!r}; known: {sorted(KINDS)}") from None
