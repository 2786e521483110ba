"""platform_planes plugin: DataPlane, WorkflowPlane, ObservabilityPlane and their Cluster* twins.

The hook implementations live in :mod:`.plugin`; they are re-exported here because the entry point
registers this package module with pluggy.
"""

from .plugin import fetch, map_resource, plugin_info, refetch, relate

__all__ = ["fetch", "map_resource", "plugin_info", "refetch", "relate"]
