"""``openchoreo.plugins.web_ui`` settings."""

from __future__ import annotations

from pydantic import AliasGenerator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class WebUiSettings(BaseModel):
    """Where the pages are mounted, and how much one page shows."""

    model_config = ConfigDict(
        alias_generator=AliasGenerator(validation_alias=to_camel, serialization_alias=to_camel),
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )

    base_path: str = Field(default="/ui", pattern=r"^/[A-Za-z0-9/_.-]*[A-Za-z0-9_.-]$")
    page_size: int = Field(default=100, ge=10, le=1000)
    """catalog rows per page"""
    graph_max_nodes: int = Field(default=80, ge=5, le=400)
    """neighbours drawn in an entity's graph (the relations table lists them all)"""
    runs_shown: int = Field(default=20, ge=1, le=200)
