"""Issue 13, item 10: an event's name and namespace are validated before any request is made.

``.`` and ``..`` as a name (or a ``/``) would turn the re-fetch GET into a request for another API
path, sent with the daemon's token; such events are a 400 and cost no upstream request.
"""

from __future__ import annotations

import httpx
import pytest

from openchoreo_sync.events import EVENTS_PATH


@pytest.mark.parametrize("name", [".", "..", "a/b", "%2e%2e", "UPPER", "x" * 300])
async def test_path_like_names_are_refused_before_any_request(mock_openchoreo_factory, sync_harness_factory, name):
    mock = mock_openchoreo_factory(namespaces=1, projects=1, components=1)
    harness = sync_harness_factory(mock.url)
    url = await harness.serve()
    before = mock.stats.count()
    async with httpx.AsyncClient() as http:
        for event in (
            {"kind": "component", "name": name, "namespace": "default", "action": "updated"},
            {"kind": "component", "name": "ok", "namespace": name, "action": "updated"},
        ):
            response = await http.post(url + EVENTS_PATH, json=event)
            assert response.status_code == 400, response.text
            assert response.json()["error"]["name"] == "InputError"
    assert mock.stats.count() == before, "a refused event must not reach the API"
