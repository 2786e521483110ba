"""What loading the config and every installed plugin imports: not the server stack, not trio.

Every command does that first, and ``export`` serves nothing: starlette, uvicorn and jinja2 come
with the HTTP routes (imported by the ``http_routes`` hooks), and httpcore is imported without
trio (``client.asyncio_only``). Together they were ~0.3 s of every start. A fresh interpreter,
since the test process itself has imported all of them long ago.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

SERVER_STACK = ("starlette", "uvicorn", "jinja2", "openchoreo_sync.server", "openchoreo_sync.kit.http")

PROBE = """
import sys
from pathlib import Path
from openchoreo_sync.runtime import open_runtime
open_runtime([Path(sys.argv[1])]).close()
print(",".join(sorted(m for m in sys.argv[2].split(",") if m in sys.modules)))
"""


def test_loading_the_plugins_imports_neither_the_server_stack_nor_trio(tmp_path: Path) -> None:
    config = tmp_path / "app-config.yaml"
    settings = {"baseUrl": "http://127.0.0.1:9", "sqlite": {"path": str(tmp_path / "state.sqlite3")}}
    config.write_text(yaml.safe_dump({"openchoreo": settings}))
    watched = ",".join((*SERVER_STACK, "trio"))
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(config), watched], capture_output=True, text=True, timeout=60, check=True
    )
    assert probe.stdout.strip() == "", f"imported at start: {probe.stdout.strip()}"
