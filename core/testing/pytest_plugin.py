"""The pytest plugin this package ships (entry point ``pytest11``): fixtures for plugin authors.

``mock_openchoreo`` / ``mock_openchoreo_factory`` run the mock OpenChoreo API over real HTTP;
``sync_harness_factory`` runs the real engine against it with a throwaway state store.
"""

from .fixtures import HarnessFactory, sync_harness_factory
from .mockapi_fixtures import MockFactory, mock_openchoreo, mock_openchoreo_factory

__all__ = [
    "HarnessFactory",
    "MockFactory",
    "mock_openchoreo",
    "mock_openchoreo_factory",
    "sync_harness_factory",
]
