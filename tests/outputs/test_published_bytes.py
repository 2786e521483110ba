"""The ``backstage`` output publishes, for a generated 2k world, exactly the bytes PyYAML wrote.

The world is the one ``benchmarks/sync_bench.py`` builds for 2,000 components (the mock API over
real HTTP, synced by the real daemon; the generator's shapes are those of its 10k world, at a fifth
of the time in CI). Every published file, the index included, is compared with
what PyYAML writes for the very documents the output dumped; and no document of it needed PyYAML
(the emitter under test wrote them all).
"""

from __future__ import annotations

from typing import Any

import pytest

from openchoreo_sync.kit import publishing

TWO_K = {"namespaces": 10, "projects": 10, "components": 20}  # sync_bench.spec_args(2_000)


async def test_two_thousand_components_publish_pyyamls_bytes(
    mock_openchoreo_factory: Any, sync_harness_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock = mock_openchoreo_factory(**TWO_K)
    backstage = {
        "enabled": True,
        "baseUrl": "http://127.0.0.1:9",
        "token": "test-token-0123",
        "publishUrl": "http://127.0.0.1:9/published",
        "registerLocation": False,
    }
    overrides = {"openchoreo": {"client": {"timeout": 120}, "schedule": {"timeout": 600}}}
    overrides["openchoreo"]["plugins"] = {"backstage": backstage}
    handed: list[Any] = []
    reference = publishing.pyyaml_dump
    emit = publishing.dump_json_documents
    dumps: list[tuple[list[Any], str]] = []

    def counting(documents: list[Any], **kwargs: Any) -> str:
        handed.extend(documents)
        return reference(documents, **kwargs)

    def recording(documents: Any, **kwargs: Any) -> str:
        documents = list(documents)
        text = emit(documents, **kwargs)
        dumps.append((documents, text))
        return text

    monkeypatch.setattr(publishing, "pyyaml_dump", counting)
    monkeypatch.setattr(publishing, "dump_json_documents", recording)
    harness = sync_harness_factory(mock.url, overrides)
    result = await harness.run()
    assert result.summary["outputs"].get("backstage") in ("ok", "full"), result.summary["outputs"]
    served = harness.daemon.ctx.services.instances["backstage"].served
    assert served is not None and len(served.files) > 20
    assert sum(len(refs) for refs in served.members.values()) > 2_800
    assert not handed, f"{len(handed)} documents went to PyYAML"
    assert {text.encode() for _, text in dumps} >= set(served.files.values())
    for documents, text in dumps:  # the emitter defuses placeholders as it writes: compare with defused ones
        defused = [publishing.defuse_placeholders(doc) for doc in documents]
        assert text == reference(defused), documents[0].get("metadata")
