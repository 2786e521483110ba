"""A data plane's ingress gateway, as the catalog shows it: where its external and internal traffic enters.

Only the ingress side and its HTTP/HTTPS listeners' host and port are carried (as upstream does);
egress, TLS and listener names are operational detail the catalog page does not show.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _pick(source: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The present (non-null) ``keys`` of ``source``, in ``keys`` order: absent values are omitted."""
    return {key: source[key] for key in keys if source.get(key) is not None}


def _listener(value: Any) -> dict[str, Any] | None:
    return _pick(value, ("host", "port")) if isinstance(value, Mapping) else None


def _endpoint(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        return None
    endpoint = _pick(value, ("name", "namespace"))
    for protocol in ("http", "https"):
        listener = _listener(value.get(protocol))
        if listener is not None:
            endpoint[protocol] = listener
    return endpoint


def ingress_gateway(spec: Mapping[str, Any]) -> dict[str, Any] | None:
    """``{ingress: {external?, internal?}}``, or None (``spec.gateway`` omitted) without an ingress."""
    gateway = spec.get("gateway")
    ingress = gateway.get("ingress") if isinstance(gateway, Mapping) else None
    if not isinstance(ingress, Mapping):
        return None
    sides = {side: _endpoint(ingress.get(side)) for side in ("external", "internal")}
    return {"ingress": {side: endpoint for side, endpoint in sides.items() if endpoint is not None}}
