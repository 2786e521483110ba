"""``openchoreo.plugins.embedded_catalog`` settings."""

from __future__ import annotations

from pydantic import AliasGenerator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class EmbeddedCatalogSettings(BaseModel):
    """Where the Backstage-compatible read API is mounted on the daemon's HTTP server."""

    model_config = ConfigDict(
        alias_generator=AliasGenerator(validation_alias=to_camel, serialization_alias=to_camel),
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )

    base_path: str = Field(default="/api/catalog", pattern=r"^/[A-Za-z0-9/_.-]*$")
    sync_base_path: str = Field(default="/api/sync/v1", pattern=r"^/[A-Za-z0-9/_.-]*$")
    """Where the pull contract for ingesting catalogs (snapshot pages, change feed, status) is served."""
