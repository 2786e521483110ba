"""An entity's neighbourhood (depth 1 or 2) laid out in rings, for an SVG drawn on the server.

Rings keep the picture readable without a layout engine in the browser: the entity in the middle,
its direct neighbours on the first ring, theirs on the second, each placed near the neighbour that
reached it. Each pair of entities gets one edge, labelled from the side nearer the middle.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from openchoreo_sync.kit import parse_ref

from .links import entity_url

RING_SPACING = 190
NODE_GAP = 34
"""the smallest distance between two nodes on one ring, in SVG units"""


@dataclass
class Node:
    ref: str
    kind: str
    name: str
    depth: int
    url: str
    missing: bool = False
    """a relation target that is not in the catalog (drawn, not linked)"""
    x: float = 0.0
    y: float = 0.0
    angle: float = 0.0


@dataclass
class Edge:
    source: Node
    target: Node
    type: str


@dataclass
class Graph:
    nodes: list[Node]
    edges: list[Edge]
    omitted: int
    """neighbours left out to stay within the node limit (the relations table has them all)"""
    size: float

    @property
    def view_box(self) -> str:
        half = self.size / 2
        return f"{-half:.0f} {-half:.0f} {self.size:.0f} {self.size:.0f}"


def _targets(body: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    relations = (body or {}).get("relations") or []
    return sorted(
        (str(r.get("type")), str(r.get("targetRef")))
        for r in relations
        if isinstance(r, dict) and r.get("targetRef") and r.get("type")
    )


def neighbourhood(
    center: str,
    center_body: Mapping[str, Any],
    load_bodies: Callable[[Iterable[str]], Mapping[str, Mapping[str, Any]]],
    *,
    depth: int,
    max_nodes: int,
    base_path: str,
) -> Graph:
    """Nodes within ``depth`` relations of ``center`` (at most ``max_nodes`` besides it), and their edges."""
    nodes: dict[str, Node] = {center: _node(center, 0, base_path)}
    parents: dict[str, str] = {}
    pairs: dict[frozenset[str], tuple[str, str, str]] = {}
    omitted = 0
    frontier = {center: center_body}
    for level in range(1, depth + 1):
        reached: list[str] = []
        for ref, body in frontier.items():
            for relation_type, target in _targets(body):
                pair = frozenset((ref, target))
                if target not in nodes:
                    if len(nodes) - 1 >= max_nodes:
                        omitted += 1
                        continue
                    nodes[target] = _node(target, level, base_path)
                    parents[target] = ref
                    reached.append(target)
                pairs.setdefault(pair, (ref, target, relation_type))
        if level == depth or not reached:
            break
        frontier = dict(load_bodies(reached))
    present = load_bodies([ref for ref in nodes if ref != center]) if nodes else {}
    for ref, node in nodes.items():
        node.missing = ref != center and ref not in present
        if node.missing:
            node.url = ""
    size = _layout(nodes, parents)
    edges = [Edge(nodes[s], nodes[t], kind) for s, t, kind in pairs.values() if s in nodes and t in nodes]
    return Graph(list(nodes.values()), edges, omitted, size)


def _node(ref: str, depth: int, base_path: str) -> Node:
    try:
        kind, _, name = parse_ref(ref)
    except ValueError:
        kind, name = "unknown", ref
    return Node(ref, kind.lower(), name, depth, entity_url(base_path, ref) if kind != "unknown" else "")


def _radius(count: int, minimum: float) -> float:
    return max(minimum, count * NODE_GAP / (2 * math.pi))


def _layout(nodes: dict[str, Node], parents: dict[str, str]) -> float:
    """Place ring by ring; returns the side of the square that holds the drawing."""
    radius = 0.0
    for level in (1, 2):
        ring = [n for n in nodes.values() if n.depth == level]
        if not ring:
            continue
        if level == 1:
            ring.sort(key=lambda n: (n.kind, n.name))
        else:
            ring.sort(key=lambda n: (nodes[parents[n.ref]].angle, n.kind, n.name))
        radius = _radius(len(ring), radius + RING_SPACING)
        for i, node in enumerate(ring):
            node.angle = 2 * math.pi * i / len(ring) - math.pi / 2
            node.x, node.y = radius * math.cos(node.angle), radius * math.sin(node.angle)
    return 2 * radius + 260
