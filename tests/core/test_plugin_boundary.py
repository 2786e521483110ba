"""The plugin boundary, read from the code with ``ast`` (not grep): plugins use only the kit.

A plugin may import ``openchoreo_sync`` (the data types), ``openchoreo_sync.kit`` and its modules,
``openchoreo_sync.relations``, its own package, the standard library and third-party packages;
never a sibling plugin, never another core module. The core never imports a plugin. The example
third-party distribution (``tests/example_plugin``) is held to the same rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"
CORE = ROOT / "core"
EXAMPLE = ROOT / "tests" / "example_plugin" / "openchoreo_sync_example"
ALLOWED = ("openchoreo_sync.kit", "openchoreo_sync.relations")


def _module_name(path: Path, root: Path, package: str) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts]) if parts else package


def _imports(path: Path, module: str) -> list[tuple[int, str, list[str]]]:
    """(line, absolute module, imported names) of every import in ``path``, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target, [alias.name for alias in node.names]))
    return found


def plugin_violations(root: Path, package: str) -> list[str]:
    """Every import under ``root`` (the package ``package``, one plugin per top folder) that breaks the rule."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        module = _module_name(path, root, package)
        own = ".".join(module.split(".")[: package.count(".") + 2]) if package.endswith(".plugins") else package
        for line, target, names in _imports(path, module):
            if not (target == "openchoreo_sync" or target.startswith("openchoreo_sync.")):
                continue  # standard library or third party
            if target == "openchoreo_sync":
                bad = [n for n in names if n == "plugins" or n not in _PUBLIC_TOP]
                if not bad:
                    continue
            elif (
                target == own
                or target.startswith(own + ".")
                or any(target == a or target.startswith(a + ".") for a in ALLOWED)
            ):
                continue
            problems.append(f"{path.relative_to(root)}:{line}: imports {target} {names}")
    return problems


def core_violations() -> list[str]:
    problems = []
    for path in sorted(CORE.rglob("*.py")):
        module = _module_name(path, CORE, "openchoreo_sync")
        for line, target, names in _imports(path, module):
            if target == "openchoreo_sync.plugins" or target.startswith("openchoreo_sync.plugins."):
                problems.append(f"{path.relative_to(ROOT)}:{line}: the core imports plugin module {target}")
            elif target == "openchoreo_sync" and "plugins" in names:
                problems.append(f"{path.relative_to(ROOT)}:{line}: the core imports the plugins package")
    return problems


def _public_top_level() -> set[str]:
    import openchoreo_sync

    return set(openchoreo_sync.__all__)


_PUBLIC_TOP = _public_top_level()


def test_built_in_plugins_import_only_the_kit_and_their_own_package() -> None:
    assert plugin_violations(PLUGINS, "openchoreo_sync.plugins") == []


def test_the_example_third_party_plugin_imports_only_the_kit() -> None:
    assert plugin_violations(EXAMPLE, "openchoreo_sync_example") == []


def test_the_core_never_imports_a_plugin() -> None:
    assert core_violations() == []


def test_the_checker_sees_internal_sibling_and_relative_escapes(tmp_path: Path) -> None:
    """The rule can fail: a plugin tree with each kind of forbidden import is reported line by line."""
    family = tmp_path / "widgets"
    family.mkdir()
    (family / "__init__.py").write_text(
        "from openchoreo_sync.kit import cr\n"  # allowed
        "from openchoreo_sync import Entity, relations\n"  # allowed
        "from openchoreo_sync.relations import PART_OF\n"  # allowed
        "from . import mapper\n"  # own package: allowed
        "import httpx\n"  # third party: allowed
        "from openchoreo_sync.validation import is_tag\n"  # core internal
        "from openchoreo_sync.plugins.namespaces import cr as ns_cr\n"  # sibling plugin
        "from ..namespaces.fetch import NAMESPACES\n"  # sibling through a relative import
        "import openchoreo_sync.store.base\n"  # core internal, plain import
        "from openchoreo_sync import plugins\n"  # the plugins package itself
    )
    (family / "mapper.py").write_text("from .. import components\n")
    problems = plugin_violations(tmp_path, "openchoreo_sync.plugins")
    assert [p.split(": imports ")[1] for p in problems] == [
        "openchoreo_sync.validation ['is_tag']",
        "openchoreo_sync.plugins.namespaces ['cr']",
        "openchoreo_sync.plugins.namespaces.fetch ['NAMESPACES']",
        "openchoreo_sync.store.base []",
        "openchoreo_sync ['plugins']",
        "openchoreo_sync.plugins ['components']",
    ]
