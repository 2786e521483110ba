"""The ``thunder.*`` keys, the official users module's: where the directory is and how often to read it.

They sit beside ``openchoreo`` at the top level of the config (``config.block("thunder")``), so
one app-config serves the official module and this daemon. Without ``thunder.baseUrl`` the
family is off: it reads nothing and owns nothing. ``thunder.auth`` (optional, not an official
key) takes OAuth2 client credentials of the shape of ``openchoreo.auth``; it wins over
``thunder.token`` when complete.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasGenerator, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from openchoreo_sync.kit import AppConfig, ConfigError, plain_seconds
from openchoreo_sync.kit.entities import is_dns_label
from openchoreo_sync.kit.httpapi import AuthConfig

BLOCK = "thunder"


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=AliasGenerator(validation_alias=to_camel),
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


class ThunderSchedule(_Model):
    frequency: int = 600
    """Seconds between directory reads; OpenChoreo runs in between keep the directory as committed."""
    timeout: int = 300
    """Seconds a directory read may take before it is abandoned (the directory is then kept, stale)."""

    @field_validator("frequency", "timeout", mode="before")
    @classmethod
    def _plain_seconds(cls, value: Any) -> int:
        return plain_seconds(value)


class ThunderSettings(_Model):
    base_url: str
    token: SecretStr | None = None
    default_namespace: str = "default"
    schedule: ThunderSchedule = ThunderSchedule()
    auth: AuthConfig | None = None
    page_size: int = Field(default=100, ge=1, le=1000)
    """``limit`` asked per page (the official module's 100; the server may cap it lower)."""

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http(s) URL such as https://thunder:8090, got {value!r}")
        return value

    @field_validator("default_namespace", mode="before")
    @classmethod
    def _namespace_fallback(cls, value: Any) -> Any:
        value = value or "default"
        if isinstance(value, str) and not is_dns_label(value):
            raise ValueError(
                f"must be a Backstage namespace (lower-case letters, digits and '-', at most 63), got {value!r}"
            )
        return value


def load_settings(config: AppConfig) -> ThunderSettings | None:
    """The validated ``thunder`` block; None when ``thunder.baseUrl`` is unset (the family is off)."""
    block = config.block(BLOCK)
    if not block or not block.get("baseUrl"):
        return None
    try:
        return ThunderSettings.model_validate(block)
    except ValidationError as exc:
        problems = []
        for item in exc.errors():
            key = ".".join(str(part) for part in (BLOCK, *item["loc"]))
            message = str(item["msg"]).removeprefix("Value error, ")
            if item["type"] == "extra_forbidden":
                message = "is not a known key here; check its spelling"
            problems.append(f"{key} {message}")
        raise ConfigError(problems) from None
