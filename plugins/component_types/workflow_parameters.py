"""Where a (Cluster)Workflow expects a component's source repository, as one annotation.

Build workflows mark the parameters that hold the repository URL, branch, commit, app path and
secret with ``x-openchoreo-component-parameter-repository-*`` schema extensions. The portal needs
those paths to pre-fill a component's build form, so the catalog carries them as ``key: path``
lines in ``openchoreo.dev/component-workflow-parameters`` instead of the whole schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ANNOTATION = "openchoreo.dev/component-workflow-parameters"

_EXTENSIONS: tuple[tuple[str, str], ...] = (
    ("x-openchoreo-component-parameter-repository-url", "repoUrl"),
    ("x-openchoreo-component-parameter-repository-branch", "branch"),
    ("x-openchoreo-component-parameter-repository-commit", "commit"),
    ("x-openchoreo-component-parameter-repository-app-path", "appPath"),
    ("x-openchoreo-component-parameter-repository-secret-ref", "secretRef"),
)


def _schema(spec: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The parameter schema: ``spec.parameters`` (or the older ``spec.schema.parameters``)."""
    section = spec.get("parameters")
    if not section:
        legacy = spec.get("schema")
        section = legacy.get("parameters") if isinstance(legacy, Mapping) else None
    if not isinstance(section, Mapping):
        return None
    schema = section.get("openAPIV3Schema") or section.get("ocSchema")
    return schema if isinstance(schema, Mapping) else None


def _walk(properties: Mapping[str, Any], path: str, found: dict[str, str]) -> None:
    for prop_name, prop in properties.items():
        if not isinstance(prop, Mapping):
            continue
        prop_path = f"{path}.{prop_name}"
        for extension, key in _EXTENSIONS:
            if prop.get(extension) is True:
                # A repeated key takes the last path but keeps its first position (dict semantics).
                found[key] = prop_path
        nested = prop.get("properties")
        if isinstance(nested, Mapping):
            _walk(nested, prop_path, found)


def repository_parameters(spec: Mapping[str, Any]) -> str | None:
    """``key: parameters.<path>`` lines (no trailing newline), or None when nothing is marked."""
    schema = _schema(spec)
    properties = schema.get("properties") if schema is not None else None
    if not isinstance(properties, Mapping):
        return None
    found: dict[str, str] = {}
    _walk(properties, "parameters", found)
    return "\n".join(f"{key}: {path}" for key, path in found.items()) or None
