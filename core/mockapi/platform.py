"""Generators for the platform kinds: planes, component/project/resource types, traits,
workflows, notification channels, and their cluster-scoped twins.

They exercise every field the platform mapping reads: display-name/description and
backstage.io/owner annotations on some objects, Ready True/False, deletionTimestamp on a
few, agentConnection on planes, observabilityPlaneRef, allowedWorkflows/allowedTraits and
the workflow-type label.
"""

from __future__ import annotations

from typing import Any

from .objects import Ids, Obj, cond, meta, named, obj

Batch = dict[str, list[Obj]]

PARAM_SCHEMA: dict[str, Any] = {
    "openAPIV3Schema": {
        "type": "object",
        "properties": {
            "replicas": {"type": "integer", "default": 1, "minimum": 1},
            "port": {"type": "integer", "default": 8080},
        },
    }
}
REPO_SCHEMA: dict[str, Any] = {
    "openAPIV3Schema": {
        "type": "object",
        "properties": {
            "repository": {
                "type": "object",
                "properties": {
                    "url": {"type": "string", "x-openchoreo-component-parameter-repository-url": True},
                    "revision": {
                        "type": "object",
                        "properties": {
                            "branch": {
                                "type": "string",
                                "default": "main",
                                "x-openchoreo-component-parameter-repository-branch": True,
                            }
                        },
                    },
                    "appPath": {
                        "type": "string",
                        "default": ".",
                        "x-openchoreo-component-parameter-repository-app-path": True,
                    },
                },
            }
        },
    }
}
RUN_TEMPLATE: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Workflow",
    "metadata": {"name": "${metadata.workflowRunName}"},
    "spec": {"workflowTemplateRef": {"name": "build"}},
}
DEPLOY_RESOURCE: dict[str, Any] = {
    "id": "deployment",
    "targetPlane": "dataplane",
    "template": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "${metadata.name}"}},
}

COMPONENT_TYPES: tuple[tuple[str, str], ...] = (
    ("deployment", "service"),
    ("deployment", "web-application"),
    ("deployment", "worker"),
    ("cronjob", "scheduled-task"),
)


def _ready(ids: Ids, ok: bool = True, reason: str = "Ready") -> Obj:
    when = ids.tick()
    msg = "Resource is ready" if ok else "Resource is not ready"
    return {
        "observedGeneration": 1,
        "conditions": [cond("Ready", ok, reason if ok else "NotReady", msg, when)],
    }


def _agent(ids: Ids, connected: bool) -> Obj:
    when = ids.tick()
    if connected:
        return {
            "connected": True,
            "connectedAgents": 1,
            "lastConnectedTime": when,
            "lastHeartbeatTime": when,
            "message": "agent connected",
        }
    return {
        "connected": False,
        "connectedAgents": 0,
        "lastDisconnectedTime": when,
        "message": "no agent connected",
    }


def _gateway(host: str) -> Obj:
    ep = {
        "name": "gateway-default",
        "namespace": "openchoreo-data-plane",
        "http": {"port": 19080, "host": host},
    }
    return {"ingress": {"external": ep}}


def planes(ids: Ids, ns: str | None, prefix: str, obs_kind: str) -> Batch:
    """Data/workflow/observability planes; ``prefix`` is "" or "Cluster"."""
    out: Batch = {}
    low = prefix.lower()
    obs_ref = {"kind": obs_kind, "name": "default"}
    dp_spec: Obj = {
        "planeID": "default",
        "clusterAgent": {"clientCA": {"value": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"}},
        "gateway": _gateway("openchoreoapis.localhost"),
        "secretStoreRef": {"name": "default"},
        "observabilityPlaneRef": obs_ref,
    }
    edge_spec: Obj = {"planeID": "edge", "secretStoreRef": {"name": "vault"}}
    out[f"{low}dataplanes"] = [
        obj(
            f"{prefix}DataPlane",
            meta(
                "default",
                ns,
                ids.uid(),
                ids.tick(),
                annotations=named("Default Data Plane", "Primary data plane"),
            ),
            dp_spec,
            {**_ready(ids), "agentConnection": _agent(ids, True)},
        ),
        obj(
            f"{prefix}DataPlane",
            meta("edge", ns, ids.uid(), ids.tick(), deleting=ids.tick()),
            edge_spec,
            {
                "observedGeneration": 1,
                "conditions": [
                    cond("Ready", False, "NotReady", "Resource is not ready", ids.tick()),
                    cond("Finalizing", True, "Finalizing", "deleting", ids.tick()),
                ],
                "agentConnection": _agent(ids, False),
            },
        ),
    ]
    out[f"{low}workflowplanes"] = [
        obj(
            f"{prefix}WorkflowPlane",
            meta("default", ns, ids.uid(), ids.tick(), annotations=named("Default Workflow Plane")),
            {"planeID": "default", "secretStoreRef": {"name": "default"}, "observabilityPlaneRef": obs_ref},
            {**_ready(ids), "agentConnection": _agent(ids, True)},
        )
    ]
    out[f"{low}observabilityplanes"] = [
        obj(
            f"{prefix}ObservabilityPlane",
            meta("default", ns, ids.uid(), ids.tick(), annotations=named(description="Logs, metrics, traces")),
            {"planeID": "default", "observerURL": "http://observer.openchoreo.localhost:8080"},
            {**_ready(ids), "agentConnection": _agent(ids, True)},
        )
    ]
    return out


def types_and_traits(ids: Ids, ns: str | None, prefix: str) -> Batch:
    """Component types, traits, project types, resource types (namespaced or cluster)."""
    cluster = prefix == "Cluster"
    low = prefix.lower()
    trait_kind = "ClusterTrait" if cluster else "Trait"
    wf_kind = "ClusterWorkflow" if cluster else "Workflow"
    out: Batch = {f"{low}componenttypes": []}
    shapes = COMPONENT_TYPES if cluster else COMPONENT_TYPES[:3]
    for i, (workload, name) in enumerate(shapes):
        allowed_wf = [{"kind": "ClusterWorkflow", "name": "docker"}]
        allowed_traits = [{"kind": "ClusterTrait", "name": "observability-alert-rule"}]
        if not cluster:
            allowed_wf.append({"kind": wf_kind, "name": "google-cloud-buildpacks"})
            allowed_traits.append({"kind": trait_kind, "name": "api-management"})
        ann = named(name.replace("-", " ").title(), f"{name} component type" if i % 2 else None)
        if i == 2:
            ann["backstage.io/owner"] = "group:default/platform-team"
        out[f"{low}componenttypes"].append(
            obj(
                f"{prefix}ComponentType",
                meta(name, ns, ids.uid(), ids.tick(), annotations=ann),
                {
                    "workloadType": workload,
                    "allowedWorkflows": allowed_wf,
                    "parameters": PARAM_SCHEMA,
                    "allowedTraits": allowed_traits,
                    "resources": [DEPLOY_RESOURCE],
                },
                {},
            )
        )
    trait_names = ("observability-alert-rule",) if cluster else ("api-management", "persistent-volume")
    out[f"{low}traits"] = [
        obj(
            f"{prefix}Trait",
            meta(t, ns, ids.uid(), ids.tick(), annotations=named(description=f"The {t} trait")),
            {
                "parameters": PARAM_SCHEMA,
                "creates": [{"targetPlane": "dataplane", "template": {"apiVersion": "v1", "kind": "ConfigMap"}}],
                "patches": [
                    {
                        "target": {"group": "apps", "version": "v1", "kind": "Deployment"},
                        "operations": [{"op": "add", "path": "/metadata/labels/trait", "value": t}],
                    }
                ],
            },
            {},
        )
        for t in trait_names
    ]
    pt_name = "default" if cluster else "standard"
    out[f"{low}projecttypes"] = [
        obj(
            f"{prefix}ProjectType",
            meta(pt_name, ns, ids.uid(), ids.tick(), annotations=named("Standard project")),
            {
                "parameters": PARAM_SCHEMA,
                "resources": [{"id": "netpol", "template": {"kind": "NetworkPolicy"}}],
            },
            {},
        )
    ]
    rt_names = ("mysql",) if cluster else ("postgres", "redis")
    out[f"{low}resourcetypes"] = []
    for j, rt in enumerate(rt_names):
        spec: Obj = {"parameters": PARAM_SCHEMA}
        if j == 0:
            spec["retainPolicy"] = "Retain"
        spec["outputs"] = [
            {"name": "host", "value": f"{rt}.svc"},
            {"name": "password", "secretKeyRef": {"name": f"{rt}-creds", "key": "password"}},
        ]
        spec["resources"] = [{"id": "db", "template": {"kind": "StatefulSet"}, "readyWhen": "${true}"}]
        out[f"{low}resourcetypes"].append(
            obj(
                f"{prefix}ResourceType",
                meta(rt, ns, ids.uid(), ids.tick(), annotations=named(rt.title())),
                spec,
                {},
            )
        )
    return out


def workflows(ids: Ids, ns: str | None, prefix: str) -> Batch:
    """Build (workflow-type=component) and generic workflows."""
    cluster = prefix == "Cluster"
    plane = {"kind": "ClusterWorkflowPlane" if cluster else "WorkflowPlane", "name": "default"}
    names = (
        (("docker", True), ("react", True), ("generic-task", False))
        if cluster
        else (
            ("google-cloud-buildpacks", True),
            ("db-migration", False),
        )
    )
    out: list[Obj] = []
    for i, (name, build) in enumerate(names):
        labels = {"openchoreo.dev/workflow-type": "component"} if build else None
        ann = named(name.replace("-", " ").title() if i == 0 else None, f"Builds with {name}" if build else None)
        spec: Obj = {
            "workflowPlaneRef": plane,
            "parameters": REPO_SCHEMA if build else PARAM_SCHEMA,
            "runTemplate": RUN_TEMPLATE,
            "ttlAfterCompletion": "1d",
        }
        out.append(
            obj(
                f"{prefix}Workflow",
                meta(name, ns, ids.uid(), ids.tick(), labels, ann),
                spec,
                _ready(ids, i != 1),
            )
        )
    return {f"{prefix.lower()}workflows": out}


def notification_channels(ids: Ids, ns: str) -> list[Obj]:
    """One email and one webhook alerts channel."""
    email = {
        "from": "alerts@example.com",
        "to": ["oncall@example.com"],
        "smtp": {
            "host": "smtp.example.com",
            "port": 587,
            "auth": {
                "username": {"secretKeyRef": {"name": "smtp-creds", "key": "username"}},
                "password": {"secretKeyRef": {"name": "smtp-creds", "key": "password"}},
            },
            "tls": {"insecureSkipVerify": False},
        },
        "template": {"subject": "[${alert.severity}] ${alert.name}", "body": "${alert.description}"},
    }
    return [
        obj(
            "ObservabilityAlertsNotificationChannel",
            meta("email-alerts", ns, ids.uid(), ids.tick(), annotations=named("Email alerts")),
            {"environment": "development", "isEnvDefault": True, "type": "email", "emailConfig": email},
            {},
        ),
        obj(
            "ObservabilityAlertsNotificationChannel",
            meta("webhook-alerts", ns, ids.uid(), ids.tick()),
            {
                "environment": "production",
                "isEnvDefault": False,
                "type": "webhook",
                "webhookConfig": {"url": "https://hooks.example.com/alerts"},
            },
            {},
        ),
    ]


def cluster_world(ids: Ids) -> Batch:
    """Every cluster-scoped kind."""
    out: Batch = {}
    out.update(planes(ids, None, "Cluster", "ClusterObservabilityPlane"))
    out.update(types_and_traits(ids, None, "Cluster"))
    out.update(workflows(ids, None, "Cluster"))
    return out


def namespace_platform(ids: Ids, ns: str) -> Batch:
    """Every namespaced platform kind for one namespace."""
    out: Batch = {}
    out.update(planes(ids, ns, "", "ObservabilityPlane"))
    out.update(types_and_traits(ids, ns, ""))
    out.update(workflows(ids, ns, ""))
    out["observabilityalertsnotificationchannels"] = notification_channels(ids, ns)
    return out
