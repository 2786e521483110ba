"""Paths of the OpenChoreo Platform API: the only place the ``/api/v1`` root is written.

Build every URL a family calls from these, so a new API version (or a gateway prefix) is one
edit, and names are always percent-encoded (a name is data, never a path).

Example::

    from openchoreo_sync.kit.endpoints import Endpoint, namespaced_path

    WIDGETS = Endpoint("widgets", "Widget")                 # /api/v1/namespaces/{ns}/widgets
    path = namespaced_path("acme", "widgets", "w1")         # /api/v1/namespaces/acme/widgets/w1
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

API_ROOT = "/api/v1"
NAMESPACES = f"{API_ROOT}/namespaces"


def _segment(value: str) -> str:
    return quote(value, safe="")


def api_path(*segments: str) -> str:
    """``/api/v1/<segment>/...`` with every segment percent-encoded."""
    return "/".join((API_ROOT, *(_segment(s) for s in segments)))


def namespace_path(namespace: str) -> str:
    """The namespace object itself: ``/api/v1/namespaces/{namespace}``."""
    return f"{NAMESPACES}/{_segment(namespace)}"


def namespaced_path(namespace: str, collection: str, *rest: str) -> str:
    """A collection (or an item of it) inside a namespace: ``/api/v1/namespaces/{ns}/{collection}[/...]``."""
    return "/".join((namespace_path(namespace), _segment(collection), *(_segment(s) for s in rest)))


@dataclass(frozen=True)
class Endpoint:
    """One OpenChoreo list endpoint: ``collection`` is its URL segment and the collection's name."""

    collection: str
    kind: str
    """The wire kind of its items (``ComponentType``, ``ClusterDataPlane`` ...): mappers dispatch on it."""
    cluster: bool = False
    """Cluster-scoped (``/api/v1/<collection>``) rather than per namespace."""

    @property
    def event_kind(self) -> str:
        """The lower-case kind OpenChoreo's event forwarder sends for this kind."""
        return self.kind.lower()

    def list_path(self, namespace: str | None) -> str:
        if self.cluster:
            return api_path(self.collection)
        return namespaced_path(namespace or "", self.collection)

    def item_path(self, name: str, namespace: str | None) -> str:
        return f"{self.list_path(namespace)}/{_segment(name)}"


def by_event_kind(endpoints: Iterable[Endpoint]) -> dict[str, Endpoint]:
    """Endpoints by the lower-case kind their events name."""
    return {endpoint.event_kind: endpoint for endpoint in endpoints}
