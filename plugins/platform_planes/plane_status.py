"""The health annotations every plane entity carries: readiness and the cluster agent's connection.

Planes are infrastructure a platform engineer watches, so their catalog page shows whether the
control plane finished setting them up (the ``Created`` condition, which planes use instead of
``Ready``) and whether their cluster agent is connected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openchoreo_sync.kit.cr import NOT_READY, READY, condition_status, mapping, text

STATUS = "openchoreo.io/status"
AGENT_CONNECTED = "openchoreo.io/agent-connected"
AGENT_CONNECTED_COUNT = "openchoreo.io/agent-connected-count"
AGENT_LAST_CONNECTED = "openchoreo.io/agent-last-connected"


def readiness(body: Mapping[str, Any]) -> str:
    """``Ready`` when the status condition ``Created`` is ``"True"``, else ``Not Ready``."""
    return READY if condition_status(body, "Created") == "True" else NOT_READY


def _count(value: Any) -> str:
    """``connectedAgents`` as a decimal string; ``"0"`` when missing or not a whole number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "0"
    return str(int(value)) if float(value).is_integer() else "0"


def agent_annotations(body: Mapping[str, Any]) -> dict[str, str]:
    """The agent-connection annotations; none at all when the status has no ``agentConnection``."""
    connection = mapping(body.get("status")).get("agentConnection")
    if not isinstance(connection, Mapping):
        return {}
    annotations = {
        AGENT_CONNECTED: "true" if connection.get("connected") is True else "false",
        AGENT_CONNECTED_COUNT: _count(connection.get("connectedAgents")),
    }
    last_connected = text(connection.get("lastConnectedTime"))
    if last_connected:
        annotations[AGENT_LAST_CONNECTED] = last_connected
    return annotations
