"""The OpenChoreo API client: paginated reads, OAuth2 client credentials, retries, probes.

Plugins receive it through ``SyncContext.client`` and use ``list_all`` and ``get`` only.
"""

from . import asyncio_only  # noqa: F401  (first: httpcore is imported without trio)
from .auth import TokenProvider
from .client import OpenChoreoClient
from .errors import (
    ApiError,
    MalformedResponseError,
    PaginationError,
    ResponseTooLargeError,
    TokenError,
)
from .probe import ProbeResult, format_probe, probe
from .stats import ClientStats, path_template

__all__ = [
    "ApiError",
    "ClientStats",
    "MalformedResponseError",
    "OpenChoreoClient",
    "PaginationError",
    "ProbeResult",
    "ResponseTooLargeError",
    "TokenError",
    "TokenProvider",
    "format_probe",
    "path_template",
    "probe",
]
