"""Shared by the Template tests: the golden inputs as a mock world, and a sync of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from openchoreo_sync.mockapi import MockOpenChoreo, World

GOLDEN = Path(__file__).parent / "golden" / "templates"
PLACEHOLDER = "{templates}"


def golden_types() -> list[dict[str, Any]]:
    return list(yaml.safe_load((GOLDEN / "types.yaml").read_text()))


def golden_expected(templates_url: str) -> list[dict[str, Any]]:
    text = (GOLDEN / "templates.expected.yaml").read_text().replace(PLACEHOLDER, templates_url)
    return [d for d in yaml.safe_load_all(text) if d]


def substitute(value: Any, templates_url: str) -> Any:
    if isinstance(value, str):
        return value.replace(PLACEHOLDER, templates_url)
    if isinstance(value, dict):
        return {k: substitute(v, templates_url) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, templates_url) for v in value]
    return value


def load_golden_world(mock: MockOpenChoreo) -> None:
    """The golden types (URLs pointing at ``mock``) and their hand-written templates, into ``mock``."""
    url = f"{mock.url}/scaffolder-templates"
    mock.state.templates.update(yaml.safe_load((GOLDEN / "hand_written.yaml").read_text()))
    world: World = mock.world
    for namespace in sorted({c["namespace"] for c in golden_types() if c["namespace"]}):
        world.put(
            "namespaces", "", {"metadata": {"name": namespace, "labels": {"openchoreo.dev/control-plane": "true"}}}
        )
    for case in golden_types():
        world.put(case["collection"], case["namespace"], substitute(case["body"], url))
