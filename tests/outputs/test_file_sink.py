"""The ``files`` output over real runs against the mock OpenChoreo API (real HTTP, real disk)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from openchoreo_sync import entity_ref
from openchoreo_sync.plugins.files.manifest import MANIFEST_NAME
from openchoreo_sync.plugins.files.writer import safe_segment


def files_overrides(directory: Path, **extra: Any) -> dict[str, Any]:
    return {"openchoreo": {"plugins": {"files": {"enabled": True, "directory": str(directory)}}}, **extra}


def tree(directory: Path) -> dict[str, tuple[int, int]]:
    """relative path -> (inode, mtime_ns) of every file."""
    return {
        str(p.relative_to(directory)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def published_refs(directory: Path) -> dict[str, str]:
    """ref -> file it is in, over every entity file the index lists."""
    index = docs(directory / "index.yaml")[0]
    out: dict[str, str] = {}
    for target in index["spec"]["targets"]:
        for doc in docs(directory / target):
            ref = entity_ref(doc)
            assert ref not in out, f"{ref} published twice"
            out[ref] = target.removeprefix("./")
    return out


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return tmp_path / "catalog"


async def test_first_run_writes_one_file_per_namespace_and_family(mock_openchoreo, sync_harness_factory, out_dir):
    harness = sync_harness_factory(mock_openchoreo.url, files_overrides(out_dir))
    result = await harness.run()
    assert result.status == "ok"
    assert result.summary["outputs"] == {"files": "full"}

    published = published_refs(out_dir)
    assert set(published) == set(result.entities)
    index = harness.store.load_index()
    for ref, path in published.items():
        entity = result.entities[ref]
        namespace = entity["metadata"].get("namespace") or "default"
        assert path == f"{namespace}/{index[ref].family}.yaml"
    for path in set(published.values()):
        for doc in docs(out_dir / path):
            assert "relations" not in doc
            assert "backstage.io/managed-by-location" not in doc["metadata"].get("annotations", {})
    manifest = json.loads((out_dir / MANIFEST_NAME).read_text())
    assert set(manifest["files"]) == set(published.values()) | {"index.yaml"}


async def test_changes_in_openchoreo_reach_exactly_their_file(mock_openchoreo, sync_harness_factory, out_dir):
    world = mock_openchoreo.world
    harness = sync_harness_factory(mock_openchoreo.url, files_overrides(out_dir))
    await harness.run()
    before = tree(out_dir)

    env = world.items("environments", "delta-1")[0]
    env["metadata"]["name"] = "qa-files"
    env["metadata"].pop("uid")
    world.put("environments", "delta-1", env)
    added = await harness.run()
    assert "environment:delta-1/qa-files" in added.changes.added
    after_add = tree(out_dir)
    changed = {p for p in after_add if after_add[p] != before.get(p)}
    assert changed == {"delta-1/namespaces.yaml", MANIFEST_NAME}
    assert "environment:delta-1/qa-files" in published_refs(out_dir)

    env["metadata"].setdefault("annotations", {})["openchoreo.dev/display-name"] = "QA for files"
    world.put("environments", "delta-1", env)
    await harness.run()
    qa = next(d for d in docs(out_dir / "delta-1/namespaces.yaml") if d["metadata"]["name"] == "qa-files")
    assert qa["metadata"]["title"] == "QA for files"
    after_change = tree(out_dir)
    assert {p for p in after_change if after_change[p] != after_add[p]} == {"delta-1/namespaces.yaml"}

    world.delete("environments", "delta-1", "qa-files")
    removed = await harness.run()
    assert removed.changes.removed == ["environment:delta-1/qa-files"]
    assert "environment:delta-1/qa-files" not in published_refs(out_dir)


async def test_a_vanished_namespace_deletes_its_files_and_directory(mock_openchoreo, sync_harness_factory, out_dir):
    harness = sync_harness_factory(mock_openchoreo.url, files_overrides(out_dir))
    await harness.run()
    assert (out_dir / "meadow-0" / "components.yaml").exists()
    mock_openchoreo.world.delete("namespaces", "", "meadow-0")
    result = await harness.run()
    assert result.status == "ok", result.summary
    assert not (out_dir / "meadow-0").exists()
    assert not any(path.startswith("meadow-0/") for path in published_refs(out_dir).values())
    assert "meadow-0/components.yaml" not in json.loads((out_dir / MANIFEST_NAME).read_text())["files"]


async def test_full_reconcile_rewrites_nothing_that_is_already_right(mock_openchoreo, sync_harness_factory, out_dir):
    harness = sync_harness_factory(mock_openchoreo.url, files_overrides(out_dir))
    await harness.run()
    before = tree(out_dir)
    harness.store.set_output_state("files", "test", True)  # what a failed emit leaves behind
    result = await harness.run()
    assert result.changes.empty and result.summary["outputs"] == {"files": "full"}
    assert tree(out_dir) == before


async def test_full_reconcile_repairs_own_files_and_leaves_foreign_files_alone(
    mock_openchoreo, sync_harness_factory, out_dir
):
    harness = sync_harness_factory(mock_openchoreo.url, files_overrides(out_dir))
    await harness.run()
    good = (out_dir / "delta-1" / "components.yaml").read_bytes()
    (out_dir / "delta-1" / "components.yaml").write_text("tampered: true\n")
    (out_dir / "README.md").write_text("not ours\n")
    (out_dir / "delta-1" / "mine.yaml").write_text("kind: Component\n")
    ghost = out_dir / "ghost" / "components.yaml"  # written by us once, entities gone since
    ghost.parent.mkdir()
    ghost.write_text("kind: Component\n")
    manifest = json.loads((out_dir / MANIFEST_NAME).read_text())
    manifest["files"]["ghost/components.yaml"] = ["component:ghost/x"]
    (out_dir / MANIFEST_NAME).write_text(json.dumps(manifest))

    harness.store.set_output_state("files", "test", True)
    await harness.run()
    assert (out_dir / "delta-1" / "components.yaml").read_bytes() == good
    assert not ghost.exists() and not ghost.parent.exists()
    assert (out_dir / "README.md").read_text() == "not ours\n"
    assert (out_dir / "delta-1" / "mine.yaml").exists()


async def test_disallowed_kind_is_not_written(mock_openchoreo, sync_harness_factory, out_dir, capsys):
    allow = ["Component", "API", "System", "Domain", "Resource", "Location", "DeploymentPipeline"]
    harness = sync_harness_factory(mock_openchoreo.url, files_overrides(out_dir, catalog={"rules": [{"allow": allow}]}))
    await harness.run()
    kinds = {ref.split(":")[0] for ref in published_refs(out_dir)}
    assert "environment" not in kinds and "domain" in kinds and "deploymentpipeline" in kinds
    assert "Environment (8)" in capsys.readouterr().out


def test_path_segments_cannot_escape_the_directory() -> None:
    assert safe_segment("delta-1") == "delta-1"
    assert safe_segment("..") == "_.."
    assert safe_segment("a/b") == "a%2Fb"
    assert safe_segment(".hidden") == "_.hidden"
