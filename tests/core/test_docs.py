"""Docs that must keep up with the code: every hook documented and tested; the README mapping table."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from openchoreo_sync import hookspecs
from openchoreo_sync.config import AppConfig
from openchoreo_sync.plugins_manager import load_plugins

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(
    name
    for name, value in vars(hookspecs).items()
    if inspect.isfunction(value) and hasattr(value, hookspecs.PROJECT + "_spec")
)


def test_every_hook_has_a_section_in_docs_hooks():
    text = (ROOT / "docs" / "hooks.md").read_text()
    headings = set(re.findall(r"^## (\w+)\(", text, re.MULTILINE))
    missing = [h for h in HOOKS if h not in headings]
    assert HOOKS and not missing, f"hooks without a section in docs/hooks.md: {missing}"
    assert not headings - set(HOOKS), f"docs/hooks.md documents hooks that do not exist: {headings - set(HOOKS)}"


def test_every_hook_has_a_test():
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    missing = [h for h in HOOKS if f"def test_hook_{h}" not in tests]
    assert not missing, f"hooks without a test_hook_<name> test: {missing}"


def test_readme_mapping_table_matches_the_plugins():
    text = (ROOT / "README.md").read_text()
    table = text.split("<!-- mapping:start -->")[1].split("<!-- mapping:end -->")[0]
    rows = {
        tuple(cell.strip().strip("`") for cell in line.strip().strip("|").split("|"))
        for line in table.splitlines()
        if line.startswith("| `")
    }
    plugins = load_plugins(AppConfig.model_validate({"openchoreo": {"baseUrl": "http://127.0.0.1:1"}}))
    built_in = [r for r in plugins.records.values() if r.package == "openchoreo-catalog-sync" and r.info]
    expected = {(r.name, oc, bs) for r in built_in for oc, bs in r.info.mapping}
    assert expected and rows == expected
