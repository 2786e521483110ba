"""``openchoreo.plugins.templates.*``: which hand-written templates may be read, and how much of them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class TemplatesSettings(BaseModel):
    """Limits on reading the ``scaffolder.openchoreo.dev/backstage-template-url`` override.

    The URL comes from a component type, i.e. from whoever may write one to the control plane, and
    the daemon reads it from inside the cluster: hosts are allow-listed so it cannot be pointed at
    arbitrary internal services, and size and time are capped so one template cannot stall a run.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    template_url_hosts: list[str] | None = Field(
        default=None,
        description="hosts an override URL may name (case-insensitive); default: the OpenChoreo API's host "
        "and the daemon's own",
    )
    template_url_max_bytes: int = Field(default=256 * 1024, ge=1, description="largest template read, in bytes")
    template_url_timeout_seconds: float = Field(default=10.0, gt=0, description="time allowed to read one template")
