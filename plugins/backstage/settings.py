"""``openchoreo.plugins.backstage.*``: where Backstage is, how it reaches us, what to publish."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic.alias_generators import to_camel

from .kinds import CustomKindsMode


def _http_url(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"must be an http(s) URL, got {value!r}")
    return value


class BackstageSettings(BaseModel):
    """Validated at start-up; camelCase keys like the rest of app-config."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    base_url: str = Field(description="Backstage backend base URL, e.g. http://backstage:7007")
    token: SecretStr = Field(description="a static token from Backstage's backend.auth.externalAccess (sent as Bearer)")
    publish_url: str | None = Field(
        default=None,
        description="how Backstage reaches this daemon's HTTP server; default http://<server.host>:<port>",
    )
    publish_key: SecretStr | None = Field(
        default=None,
        description="secret for the unguessable path segment of the published YAML; default: derived "
        "from token (so rotating the token moves the URL unless this is set)",
    )
    custom_kinds: CustomKindsMode = Field(
        default="auto",
        description="auto: ask Backstage which OpenChoreo kinds it accepts and publish the others as Resource; "
        "native / resource / skip: the same for every custom kind",
    )
    owner_groups: bool = Field(
        default=True,
        description="publish a Group for the default owner and for every owner group entities name that nothing "
        "provides (false when Backstage's identity sync creates them)",
    )
    verify_timeout: float = Field(
        default=20.0,
        ge=0,
        description="seconds to wait, after publishing, for Backstage to show each entity (0: do not verify)",
    )
    split_by: Literal["kind", "entity"] = Field(
        default="kind", description="one file per (namespace, kind), or one file per entity"
    )
    register_location: bool = Field(
        default=True, description="register the index location in Backstage (false: only publish the YAML)"
    )
    timeout: float = Field(default=10.0, gt=0, description="per-request timeout to Backstage, seconds")
    refresh_concurrency: int = Field(default=8, ge=1, le=64)

    @field_validator("base_url", "publish_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _http_url(value)

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if len(raw) < 8 or any(ch.isspace() for ch in raw):
            raise ValueError("must be at least 8 characters without whitespace, like Backstage's static tokens")
        return value
