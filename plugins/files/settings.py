"""``openchoreo.plugins.files.*``: where the YAML files go."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class FilesSettings(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    directory: Path = Field(description="the directory this output owns files in (created if missing)")
