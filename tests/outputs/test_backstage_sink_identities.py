"""The backstage output with the identities family: the directory's Groups are the owners published.

The output makes a stand-in Group for every owner nothing provides (issue 14); with Thunder synced,
``openchoreo.defaultOwner``'s group and every ``backstage.io/owner`` group of the sample world come
from the directory, so no stand-in is published and no ref is published twice.
"""

from __future__ import annotations

from collections import Counter

from test_backstage_sink import STANDARD, fake, overrides, publication, read_all, started  # noqa: F401

from openchoreo_sync.plugins.backstage.owners import OWNER_GROUP_ANNOTATION


async def test_groups_from_the_directory_win_over_owner_stand_ins(mock_openchoreo, sync_harness_factory, fake):  # noqa: F811
    config = overrides(fake, STANDARD)
    config["thunder"] = {"baseUrl": mock_openchoreo.thunder_url}
    harness = await started(sync_harness_factory, mock_openchoreo, config)
    result = await harness.run()
    assert result.status == "ok", result.summary
    docs = [d for documents in (await read_all(publication(harness).index_url)).values() for d in documents]
    groups = [d for d in docs if d["kind"] == "Group"]
    refs = Counter(f"{d['metadata'].get('namespace', 'default')}/{d['metadata']['name']}" for d in groups)
    assert refs["default/openchoreo-users"] == 1 and max(refs.values()) == 1, refs
    stand_ins = [
        d["metadata"]["name"] for d in groups if OWNER_GROUP_ANNOTATION in d["metadata"].get("annotations", {})
    ]
    assert stand_ins == []
    top = next(d for d in groups if d["metadata"]["name"] == "openchoreo-users")
    assert "thunder.io/group-id" in top["metadata"]["annotations"]
    assert top["spec"]["members"] and top["spec"]["children"]
