"""Deterministic generation of a whole OpenChoreo world from a :class:`WorldSpec`.

The same spec always yields byte-identical objects (seeded RNG, fixed clock). With
``example=True`` the namespace ``default`` holds exactly the worked example of
mapping-entities-core.md §7.1; ``namespaces`` more namespaces are generated around it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from . import content
from .kinds import CONTROL_PLANE_LABEL
from .objects import Ids, Obj, cond, meta, named, obj
from .platform import Batch, cluster_world, namespace_platform
from .world import World

WORDS = (
    "alpha", "atlas", "beacon", "cedar", "comet", "delta", "ember", "falcon", "garnet", "harbor",
    "indigo", "juniper", "kestrel", "lumen", "meadow", "nebula", "onyx", "pioneer", "quartz", "raven",
    "sierra", "tundra", "umber", "vertex", "willow", "zephyr",
)  # fmt: skip
ROLES = ("api", "web", "worker", "cron")
# (componentType kind, name) per role: mixes namespaced and cluster component types.
ROLE_TYPES = (
    ("ComponentType", "deployment/service"),
    ("ClusterComponentType", "deployment/web-application"),
    ("ComponentType", "deployment/worker"),
    ("ClusterComponentType", "cronjob/scheduled-task"),
)


@dataclass(frozen=True)
class WorldSpec:
    """Size and seed of a generated world.

    ``namespaces`` counts generated namespaces besides ``default``; ``projects`` is per
    generated namespace and ``components`` per generated project.
    """

    seed: int = 1
    namespaces: int = 2
    projects: int = 2
    components: int = 4
    example: bool = True


def build_world(spec: WorldSpec | None = None) -> World:
    """A new :class:`World` filled according to ``spec``."""
    world = World()
    populate(world, spec or WorldSpec())
    return world


def populate(world: World, spec: WorldSpec) -> None:
    """Bulk-load a generated world into ``world`` (no events)."""
    rng = random.Random(spec.seed)
    ids = Ids(rng)
    batches: dict[tuple[str, str], list[Obj]] = {}

    def add(ns: str, batch: Batch) -> None:
        for coll, objs in batch.items():
            batches.setdefault((coll, ns), []).extend(objs)

    add("", cluster_world(ids))
    namespaces: list[Obj] = [
        {"metadata": meta("kube-system", None, ids.uid(), ids.tick()), "status": {"phase": "Active"}}
    ]
    if spec.example:
        namespaces.append(_namespace(ids, "default", None))
        add("default", namespace_platform(ids, "default"))
        add("default", example_namespace(ids))
    words = list(WORDS)
    rng.shuffle(words)
    for i in range(spec.namespaces):
        name = f"{words[i % len(words)]}-{i}"
        namespaces.append(_namespace(ids, name, f"{name.split('-')[0].title()} Team" if i % 2 == 0 else None))
        add(name, namespace_platform(ids, name))
        add(name, _Gen(ids, rng, name, i).namespace(spec.projects, spec.components))
    batches[("namespaces", "")] = namespaces
    for (coll, ns), objs in batches.items():
        world.load(coll, ns, objs)


def _namespace(ids: Ids, name: str, display: str | None) -> Obj:
    labels = {CONTROL_PLANE_LABEL: "true"}
    ann = named(display, f"Namespace of the {display}" if display else None)
    return {"metadata": meta(name, None, ids.uid(), ids.tick(), labels, ann), "status": {"phase": "Active"}}


def _env(ids: Ids, ns: str, name: str, prod: bool, ready: bool = True, host: str | None = None) -> Obj:
    spec: Obj = {"dataPlaneRef": {"kind": "DataPlane", "name": "default"}, "isProduction": prod}
    if host:
        ep = {
            "name": "gateway-default",
            "namespace": "openchoreo-data-plane",
            "http": {"port": 19080, "host": host},
        }
        spec["gateway"] = {"ingress": {"external": ep}}
    when = ids.tick()
    reason, msg = ("EnvironmentReady", "Environment is ready") if ready else ("DataPlaneNotFound", "not ready")
    status = {"observedGeneration": 1, "conditions": [cond("Ready", ready, reason, msg, when)]}
    return obj("Environment", meta(name, ns, ids.uid(), ids.tick()), spec, status)


def _pipeline(ids: Ids, ns: str, envs: list[str]) -> Obj:
    paths = [
        {
            "sourceEnvironmentRef": {"kind": "Environment", "name": src},
            "targetEnvironmentRefs": [{"kind": "Environment", "name": dst}],
        }
        for src, dst in pairwise(envs)
    ]
    status = {"conditions": [cond("Ready", True, "Reconciled", "Pipeline is ready", ids.tick())]}
    return obj("DeploymentPipeline", meta("default", ns, ids.uid(), ids.tick()), {"promotionPaths": paths}, status)


def _project(ids: Ids, ns: str, name: str, ann: dict[str, str], type_ref: Obj, deleting: bool = False) -> Obj:
    when = ids.tick()
    conds = [
        cond("Created", True, "ProjectCreated", "Project is created", when),
        cond("Ready", True, "Reconciled", "Project is ready", when),
    ]
    if deleting:
        conds.append(cond("Finalizing", True, "Finalizing", "Project is being deleted", when))
    status = {
        "observedGeneration": 1,
        "conditions": conds,
        "latestRelease": {"name": f"{name}-1a2b3c", "hash": "1a2b3c"},
    }
    spec = {"deploymentPipelineRef": {"kind": "DeploymentPipeline", "name": "default"}, "type": type_ref}
    m = meta(name, ns, ids.uid(), when, {"openchoreo.dev/name": name}, ann, ids.tick() if deleting else None)
    return obj("Project", m, spec, status)


def example_namespace(ids: Ids) -> Batch:
    """The §7.1 worked example: project url-shortener, component api-service and friends."""
    ns, comp, proj = "default", "api-service", "url-shortener"
    project = _project(ids, ns, proj, named("URL Shortener"), {"kind": "ClusterProjectType", "name": "default"})
    when = ids.tick()
    component = obj(
        "Component",
        meta(comp, ns, ids.uid(), when, {"openchoreo.dev/project": proj, "openchoreo.dev/name": comp}),
        {
            "owner": {"projectName": proj},
            "componentType": {"kind": "ComponentType", "name": "deployment/service"},
            "autoDeploy": True,
        },
        {
            "observedGeneration": 1,
            "conditions": [cond("Ready", True, "Reconciled", "Component is ready", when)],
            "latestRelease": {"name": f"{comp}-5d8f7c", "releaseHash": "5d8f7c"},
        },
    )
    endpoint = {
        "type": "HTTP",
        "port": 8080,
        "schema": {"type": "openapi", "content": content.URL_SHORTENER_OPENAPI},
    }
    workload = obj(
        "Workload",
        meta(f"{comp}-workload", ns, ids.uid(), ids.tick()),
        {
            "owner": {"projectName": proj, "componentName": comp},
            "container": {"image": "ghcr.io/openchoreo/samples/url-shortener-api:latest"},
            "endpoints": {"rest-api": endpoint},
        },
        {},
    )
    binding = _binding(ids, ns, proj, comp, "development", {"rest-api": endpoint}, True)
    return {
        "projects": [project],
        "components": [component],
        "workloads": [workload],
        "releasebindings": [binding],
        "environments": [_env(ids, ns, "development", False), _env(ids, ns, "production", True)],
        "deploymentpipelines": [_pipeline(ids, ns, ["development", "production"])],
    }


def _binding(ids: Ids, ns: str, proj: str, comp: str, env: str, endpoints: dict[str, Any], active: bool) -> Obj:
    urls = []
    for ep_name, ep in endpoints.items():
        host = f"{comp}.{ns}.svc.cluster.local"
        ext = {"scheme": "http", "host": f"{env}-{comp}.openchoreoapis.localhost", "port": 19080, "path": "/"}
        urls.append(
            {
                "name": ep_name,
                "type": ep["type"],
                "serviceURL": {"scheme": "http", "host": host, "port": ep["port"]},
                "invokeURL": f"http://{ext['host']}:19080/",
                "externalURLs": {"http": ext},
            }
        )
    when = ids.tick(1)
    status = {
        "observedGeneration": 1,
        "conditions": [cond("Ready", active, "Ready" if active else "Undeployed", "binding", when)],
        "endpoints": urls,
    }
    spec = {
        "owner": {"projectName": proj, "componentName": comp},
        "environment": env,
        "releaseName": f"{comp}-5d8f7c",
        "state": "Active" if active else "Undeploy",
    }
    return obj("ReleaseBinding", meta(f"{comp}-{env}", ns, ids.uid(), when), spec, status)


class _Gen:
    """Generator of one namespace's projects, components and their dependents."""

    def __init__(self, ids: Ids, rng: random.Random, ns: str, index: int) -> None:
        self.ids, self.rng, self.ns, self.index = ids, rng, ns, index
        self.out: Batch = {k: [] for k in ("projects", "components", "workloads", "releasebindings", "resources")}
        self.providers: list[tuple[str, str, str]] = []  # (project, component, endpoint)

    def namespace(self, projects: int, components: int) -> Batch:
        ids, ns = self.ids, self.ns
        self.out["environments"] = [
            _env(ids, ns, "development", False),
            _env(ids, ns, "staging", False, ready=self.index % 2 == 0),
            _env(ids, ns, "production", True, host=f"{ns}.example.com"),
        ]
        self.out["deploymentpipelines"] = [_pipeline(ids, ns, ["development", "staging", "production"])]
        for p in range(projects):
            self.project(p, components)
        return self.out

    def project(self, p: int, components: int) -> None:
        ids, ns = self.ids, self.ns
        name = f"{WORDS[(p + self.index) % len(WORDS)]}-{p}"
        ann = named(name.title() if p % 2 == 0 else None, f"The {name} project" if p % 3 == 0 else None,
                    "group:default/team-" + name if p % 4 == 1 else None)  # fmt: skip
        ptype = {"kind": "ClusterProjectType", "name": "default"} if p % 2 == 0 else {
            "kind": "ProjectType", "name": "standard"}  # fmt: skip
        self.out["projects"].append(_project(ids, ns, name, ann, ptype, deleting=p == 5))
        res_name = f"{name}-db"
        rtype = {"kind": "ResourceType", "name": "postgres"} if p % 2 == 0 else {
            "kind": "ClusterResourceType", "name": "mysql"}  # fmt: skip
        when = ids.tick()
        self.out["resources"].append(
            obj(
                "Resource",
                meta(res_name, ns, ids.uid(), when, {"openchoreo.dev/project": name}),
                {"owner": {"projectName": name}, "type": rtype, "parameters": {"version": "16"}},
                {
                    "observedGeneration": 1,
                    "conditions": [cond("Ready", True, "Ready", "Resource is ready", when)],
                    "latestRelease": {"name": f"{res_name}-9f8e", "hash": "9f8e"},
                },
            )
        )
        for c in range(components):
            self.component(name, c, res_name)

    def component(self, proj: str, c: int, res_name: str) -> None:
        ids, ns, role = self.ids, self.ns, c % 4
        name = f"{proj}-{ROLES[role]}-{c}"
        ct_kind, ct_name = ROLE_TYPES[role]
        when = ids.tick(3)
        labels = {"openchoreo.dev/name": name}
        if c % 6 != 5:  # kubectl-applied components may lack the project label
            labels["openchoreo.dev/project"] = proj
        ann = named(name.replace("-", " ").title() if c % 3 == 0 else None,
                    f"{ROLES[role]} component of {proj}" if c % 4 == 1 else None,
                    "group:default/owners-" + proj if c % 5 == 2 else None)  # fmt: skip
        spec: Obj = {"owner": {"projectName": proj}, "componentType": {"kind": ct_kind, "name": ct_name},
                     "autoDeploy": c % 2 == 0, "parameters": {"replicas": 1 + c % 3}}  # fmt: skip
        if c % 2 == 0:
            spec["autoBuild"] = c % 4 == 0
            spec["traits"] = [{"kind": "Trait", "name": "api-management", "instanceName": "apim",
                               "parameters": {"rateLimit": 100}}]  # fmt: skip
            repo = {
                "url": f"https://github.com/example/{proj}",
                "revision": {"branch": "main"},
                "appPath": f"/{name}",
            }
            spec["workflow"] = {
                "kind": "ClusterWorkflow",
                "name": "docker",
                "parameters": {"repository": repo},
            }
        ready = c % 7 != 6
        conds = [cond("Ready", ready, "Reconciled" if ready else "WorkloadNotFound", "component", when)]
        deleting = ids.tick() if c % 11 == 10 else None
        if deleting:
            conds.append(cond("Finalizing", True, "Finalizing", "Component is being deleted", when))
        status = {"observedGeneration": 1, "conditions": conds,
                  "latestRelease": {"name": f"{name}-5d8f7c", "releaseHash": "5d8f7c"}}  # fmt: skip
        self.out["components"].append(
            obj("Component", meta(name, ns, ids.uid(), when, labels, ann or None, deleting), spec, status)
        )
        endpoints = self.endpoints(proj, name, role, c)
        deps: Obj = {}
        if self.providers and c % 3 != 2:
            p_proj, p_comp, p_ep = self.providers[self.rng.randrange(len(self.providers))]
            if p_comp != name:
                dep: Obj = {"component": p_comp, "name": p_ep, "visibility": "project",
                            "envBindings": {"address": "UPSTREAM_URL"}}  # fmt: skip
                if p_proj != proj:
                    dep = {"project": p_proj, **dep, "visibility": "namespace"}
                deps["endpoints"] = [dep]
        if c % 2 == 1:
            deps["resources"] = [{"ref": res_name, "envBindings": {"host": "DB_HOST"}}]
        wspec: Obj = {"owner": {"projectName": proj, "componentName": name},
                      "container": {"image": f"registry.example.com/{ns}/{name}:v{1 + c % 5}"}}  # fmt: skip
        if endpoints:
            wspec["endpoints"] = endpoints
        if deps:
            wspec["dependencies"] = deps
        wname = name if c % 5 == 4 else f"{name}-workload"
        self.out["workloads"].append(obj("Workload", meta(wname, ns, ids.uid(), ids.tick(1)), wspec, {}))
        bindings = self.out["releasebindings"]
        bindings.append(_binding(ids, ns, proj, name, "development", endpoints, True))
        if c % 2 == 0:
            bindings.append(_binding(ids, ns, proj, name, "production", endpoints, role != 3))

    def endpoints(self, proj: str, name: str, role: int, c: int) -> Obj:
        if role == 0:
            style = (c // 4) % 3
            if style == 0:
                schema = {"type": "openapi", "content": content.openapi_for(name)}
                ep = {"visibility": ["project", "external"], "type": "HTTP", "port": 8080, "schema": schema}
                self.providers.append((proj, name, "rest-api"))
                return {"rest-api": ep}
            if style == 1:
                schema = {"type": "proto", "content": content.PROTO}
                self.providers.append((proj, name, "grpc-api"))
                return {"grpc-api": {"type": "gRPC", "port": 9090, "schema": schema}}
            schema = {"type": "graphql", "content": content.GRAPHQL}
            self.providers.append((proj, name, "graphql"))
            return {
                "graphql": {"type": "GraphQL", "port": 4000, "basePath": "/graphql", "schema": schema},
                "health": {"visibility": ["internal"], "type": "HTTP", "port": 8081, "basePath": "/healthz"},
            }
        if role == 1:
            return {"webapp": {"visibility": ["external"], "type": "HTTP", "port": 3000, "displayName": "Web UI"}}
        if role == 2:
            return {"metrics": {"type": "TCP", "port": 9100}}
        return {}
