"""Property tests: random API items through every family's mapper, random YAML through load_config.

Mapping: whatever the API sends, the core ``Mapper`` never raises; every item either yields
entities that Backstage accepts or is reported with a problem naming the resource (its kind and,
when it has a readable one, its name). Config: any YAML tree gives either a valid config or a
``ConfigError`` whose every problem names the file (or ``defaults`` for a key no file set) and the
key or the reason.
"""

from __future__ import annotations

import string
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openchoreo_sync.build import Build, Mapper
from openchoreo_sync.config import load_config, validate_config
from openchoreo_sync.config_loader import load_raw_config
from openchoreo_sync.context import SyncContext
from openchoreo_sync.errors import ConfigError
from openchoreo_sync.model import Collection, CollectionKey, Resource
from openchoreo_sync.plugins_manager import load_plugins
from openchoreo_sync.validation import entity_problems

FUZZ = settings(
    max_examples=int(__import__("os").environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class QuietLog:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def debug(self, event: str, **kw: Any) -> None:
        self.lines.append((event, kw))

    info = warning = error = debug

    def bind(self, **kw: Any) -> QuietLog:
        return self


@pytest.fixture(scope="module")
def mapping_setup():
    raw = load_raw_config([], inline=[("fuzz", {"openchoreo": {"baseUrl": "http://127.0.0.1:1"}})])
    config = validate_config(raw)
    plugins = load_plugins(config)
    # Every kind a family declares and some map_resource accepts (Workloads, for one, only reach the
    # catalog joined into their Component, never on their own).
    declared = {oc for record in plugins.records.values() if record.info for oc, _ in record.info.mapping}
    ctx = SyncContext(run_id="probe", config=config, log=QuietLog(), plugin_settings=plugins.settings)

    def accepted(kind: str) -> bool:
        try:
            probe = Resource(kind, {"metadata": {"name": "probe"}}, "default")
            return plugins.runner.caller("map_resource")(resource=probe, ctx=ctx) is not None
        except Exception:
            return True

    kinds = sorted(k for k in declared if accepted(k))
    assert {"Namespace", "Component", "Project", "Environment", "ClusterTrait", "DataPlane"} <= set(kinds)
    return config, plugins, kinds


# --- API-shaped values --------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "{{ .Values.x }}", "${HOME}", "!!python/object:os.system", "a" * 300, "deployment/service"]),
)
json_tree = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)
names = st.one_of(
    st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True),
    st.text(max_size=70),
    st.integers(),
    st.none(),
    st.just("x" * 64),
)
known_keys = st.sampled_from(
    [
        "openchoreo.dev/display-name",
        "openchoreo.dev/description",
        "backstage.io/owner",
        "openchoreo.dev/project",
        "openchoreo.dev/component",
        "openchoreo.dev/control-plane",
    ]
)
string_maps = st.dictionaries(st.one_of(known_keys, st.text(max_size=15)), st.one_of(scalars, json_tree), max_size=4)
metadata = st.one_of(
    json_tree,
    st.fixed_dictionaries(
        {"name": names},
        optional={
            "namespace": names,
            "annotations": st.one_of(string_maps, json_tree),
            "labels": st.one_of(string_maps, json_tree),
            "uid": st.one_of(st.uuids().map(str), json_tree),
            "creationTimestamp": st.one_of(st.just("2025-01-06T10:00:00Z"), json_tree),
            "deletionTimestamp": json_tree,
        },
    ),
)
spec_keys = st.sampled_from(
    [
        "owner",
        "projectName",
        "componentType",
        "type",
        "dataPlaneRef",
        "isProduction",
        "gateway",
        "promotionPaths",
        "workflow",
        "traits",
        "endpoints",
        "containers",
        "parameters",
        "schema",
        "allowedWorkflows",
        "resources",
    ]
)
specs = st.one_of(json_tree, st.dictionaries(st.one_of(spec_keys, st.text(max_size=8)), json_tree, max_size=5))
bodies = st.fixed_dictionaries(
    {"metadata": metadata},
    optional={
        "apiVersion": st.one_of(st.just("openchoreo.dev/v1alpha1"), json_tree),
        "kind": json_tree,
        "spec": specs,
        "status": json_tree,
    },
)
contexts = st.one_of(
    st.just({}),
    st.dictionaries(st.sampled_from(["workload", "project", "workloads"]), st.one_of(bodies, json_tree), max_size=3),
)


def _readable_name(body: dict[str, Any]) -> str | None:
    meta = body.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("name"), str) and meta["name"]:
        return meta["name"]
    return None


@FUZZ
@given(data=st.data())
def test_any_api_item_maps_to_valid_entities_or_a_named_problem(mapping_setup, data):
    config, plugins, kinds = mapping_setup
    kind = data.draw(st.sampled_from(kinds), label="kind")
    namespace = data.draw(st.one_of(st.none(), st.sampled_from(["default", "team-a"])), label="namespace")
    items = data.draw(st.lists(st.tuples(bodies, contexts), min_size=1, max_size=3), label="items")
    log = QuietLog()
    ctx = SyncContext(run_id="fuzz", config=config, log=log, plugin_settings=plugins.settings)
    resources = [Resource(kind, body, namespace, context) for body, context in items]
    build = Build()
    Mapper(plugins, ctx).map_collection(
        CollectionKey("fuzz", "items", namespace), Collection("items", namespace, resources), build
    )

    for entity in build.entities.values():
        assert entity_problems(entity) == [], entity
    for problem in build.problems:
        assert problem.startswith(f"{kind} "), problem
    # Every problem names its resource: the readable name when there is one.
    described = [p.split(":", 1)[0] for p in build.problems]
    for body, _ in items:
        name = _readable_name(body)
        if (
            name is not None
            and name.isprintable()
            and ":" not in name
            and not any(e.get("metadata", {}).get("name") == name for e in build.entities.values())
        ):
            produced_any = any(src.endswith(f"/{name}") for src in build.source.values())
            if not produced_any and len(build.problems) < 500:
                assert any(name in d for d in described), (name, build.problems)
    # Each problem is logged with its collection.
    logged = [kw.get("problem") for event, kw in log.lines if event == "resource skipped"]
    assert logged == build.problems


# --- configs ------------------------------------------------------------------------------------

CONFIG_WORDS = [
    "openchoreo",
    "baseUrl",
    "schedule",
    "frequency",
    "timeout",
    "client",
    "retries",
    "maxInFlight",
    "maxResponseBytes",
    "safety",
    "maxDeletionRatio",
    "deletionGraceRuns",
    "allowMassDeletion",
    "server",
    "host",
    "port",
    "token",
    "auth",
    "clientId",
    "clientSecret",
    "tokenUrl",
    "features",
    "enabled",
    "plugins",
    "components",
    "store",
    "sqlite",
    "postgres",
    "dsn",
    "events",
    "catalog",
    "rules",
    "allow",
    "defaultOwner",
]
config_keys = st.one_of(st.sampled_from(CONFIG_WORDS), st.text(string.ascii_letters, min_size=1, max_size=8))
config_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-5, max_value=10**6),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=15),
        st.sampled_from(["http://openchoreo-api:8080", "${OC_URL}", "$${LITERAL}", "sqlite", "postgres", "30"]),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(config_keys, inner, max_size=5)),
    max_leaves=25,
)
config_trees = st.one_of(
    st.dictionaries(config_keys, config_values, max_size=4),
    st.fixed_dictionaries({"openchoreo": st.dictionaries(config_keys, config_values, max_size=8)}),
    st.fixed_dictionaries(
        {
            "openchoreo": st.fixed_dictionaries(
                {"baseUrl": st.sampled_from(["http://x:1", "ftp://nope", "${OC_URL}"])},
                optional={k: config_values for k in ("schedule", "client", "safety", "server", "plugins", "auth")},
            )
        }
    ),
    config_values,
)


def _check_config_error(error: ConfigError, path: Path) -> None:
    problems = error.problems if hasattr(error, "problems") else [str(error)]
    assert problems, "a ConfigError without problems"
    for problem in problems:
        assert str(path) in problem or problem.startswith("defaults: ") or "'openchoreo' section" in problem, problem


@FUZZ
@given(tree=config_trees, env=st.dictionaries(st.just("OC_URL"), st.sampled_from(["http://e:2", "", "nope"])))
def test_any_yaml_config_loads_or_names_file_and_key(tree, env):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "app-config.yaml"
        path.write_text(yaml.safe_dump(tree))
        try:
            config, _ = load_config([path], env=env)
        except ConfigError as error:
            _check_config_error(error, path)
            return
        assert config.openchoreo.base_url.startswith(("http://", "https://"))


@FUZZ
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_any_text_as_config_file_is_a_config_error_naming_the_file(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "app-config.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_config([path], env={})
        except ConfigError as error:
            _check_config_error(error, path)
