"""The ``platform_planes`` family: data, workflow and observability planes, namespaced and cluster-scoped.

Planes are the clusters OpenChoreo deploys to, builds on and observes with. Each becomes a custom
Backstage kind (``Dataplane``/``ClusterDataplane`` keep upstream's lower-case p) carrying its
readiness, agent connection and observability-plane link, so the catalog shows the platform's
topology next to the applications running on it. A table on the plugin kit; the entry point
names ``family``.
"""

from __future__ import annotations

from functools import partial

from openchoreo_sync.kit import TableFamily
from openchoreo_sync.kit.endpoints import Endpoint

from .plane_mappers import map_data_plane, map_observability_plane, map_workflow_plane
from .plane_relations import plane_relations

family = TableFamily(
    description="Data, workflow and observability planes, namespaced and cluster-scoped",
    endpoints=(
        Endpoint("dataplanes", "DataPlane"),
        Endpoint("workflowplanes", "WorkflowPlane"),
        Endpoint("observabilityplanes", "ObservabilityPlane"),
        Endpoint("clusterdataplanes", "ClusterDataPlane", cluster=True),
        Endpoint("clusterworkflowplanes", "ClusterWorkflowPlane", cluster=True),
        Endpoint("clusterobservabilityplanes", "ClusterObservabilityPlane", cluster=True),
    ),
    mappers={
        "DataPlane": map_data_plane,
        "WorkflowPlane": map_workflow_plane,
        "ObservabilityPlane": map_observability_plane,
        "ClusterDataPlane": partial(map_data_plane, cluster=True),
        "ClusterWorkflowPlane": partial(map_workflow_plane, cluster=True),
        "ClusterObservabilityPlane": partial(map_observability_plane, cluster=True),
    },
    kinds={
        "DataPlane": "Dataplane",
        "WorkflowPlane": "WorkflowPlane",
        "ObservabilityPlane": "ObservabilityPlane",
        "ClusterDataPlane": "ClusterDataplane",
        "ClusterWorkflowPlane": "ClusterWorkflowPlane",
        "ClusterObservabilityPlane": "ClusterObservabilityPlane",
    },
    relations=plane_relations,
)
