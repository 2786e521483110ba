"""The validated configuration: the same ``app-config.yaml`` keys as OpenChoreo's Backstage module.

Only ``openchoreo.*`` and ``catalog.rules`` are read; every other key of a Backstage app-config is
left alone, so one file can serve both. Keys are camelCase like Backstage's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasGenerator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from .config_loader import RawConfig, load_raw_config
from .errors import ConfigError


class _Model(BaseModel):
    """camelCase keys as in app-config.yaml; unknown keys are errors in our own blocks."""

    model_config = ConfigDict(
        alias_generator=AliasGenerator(validation_alias=to_camel, serialization_alias=to_camel),
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


class _Lenient(_Model):
    """For blocks that OpenChoreo's own Backstage config also uses: their other keys are ignored."""

    model_config = ConfigDict(extra="ignore")


_DURATION_HINT = (
    "must be a plain integer number of seconds (for example 30), not a Backstage duration object such as {minutes: 1}"
)


def plain_seconds(value: Any, *, minimum: int = 1) -> int:
    """A config value in whole seconds, the way Backstage's plain integer schedule keys are read.

    A Backstage duration object (``{minutes: 1}``), a bool, a fraction or a value below ``minimum``
    is refused with a message saying so; a numeric string is accepted.
    """
    if isinstance(value, dict):
        raise ValueError(_DURATION_HINT)
    if isinstance(value, bool):
        raise ValueError(f"must be an integer number of seconds, got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ValueError(f"must be an integer number of seconds, got {value!r}") from None
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"must be a whole number of seconds, got {value}")
        value = int(value)
    if not isinstance(value, int):
        raise ValueError(f"must be an integer number of seconds, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"must be at least {minimum} second(s), got {value}")
    return value


class ScheduleConfig(_Model):
    """When to run. ``frequency`` is measured from the start of one run to the start of the next.

    Runs never overlap: when a run lasts longer than ``frequency`` (possible when ``timeout`` is
    longer), the next one starts as soon as it ends. Zero and negative values are rejected.
    """

    frequency: int = 30
    timeout: int = 120

    @field_validator("frequency", "timeout", mode="before")
    @classmethod
    def _plain_seconds(cls, value: Any) -> int:
        return plain_seconds(value, minimum=1)


class AuthFeature(_Lenient):
    enabled: bool | None = None


class FeaturesConfig(_Lenient):
    auth: AuthFeature = AuthFeature()


class AuthConfig(_Lenient):
    client_id: str | None = None
    client_secret: SecretStr | None = None
    token_url: str | None = None
    scope: str | None = None

    def missing_keys(self) -> list[str]:
        return [
            f"openchoreo.auth.{key}"
            for key, value in (
                ("clientId", self.client_id),
                ("clientSecret", self.client_secret),
                ("tokenUrl", self.token_url),
            )
            if not value or (isinstance(value, SecretStr) and not value.get_secret_value())
        ]


DEFAULT_MAX_IN_FLIGHT = 32
"""A sync is a few hundred list requests of at most 100 items each; at 20 ms per round trip, 16 in
flight made a no-change run at 10k components 1.06-1.11 s and 32 make it 0.69-0.77 s (the first
sync 3.97-4.01 -> 3.49-3.92 s; docs/performance.md). 32 concurrent paged GETs are well inside what
a Kubernetes-backed API server admits (the apiserver's own default is 400 in flight)."""


class ClientConfig(_Model):
    """How the daemon talks to the OpenChoreo API."""

    timeout: float = Field(default=30.0, gt=0, description="per-request timeout, seconds")
    max_in_flight: int = Field(
        default=DEFAULT_MAX_IN_FLIGHT,
        ge=1,
        le=256,
        description="requests in flight at once, all collections (and open connections to the API); "
        "a server that wants fewer answers 429, which is retried with backoff",
    )
    retries: int = Field(default=4, ge=0, le=10)
    backoff_base: float = Field(default=0.25, gt=0, description="first retry delay, seconds; doubles each try")
    verify_tls: bool = True
    ca_bundle: Path | None = None
    max_response_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    max_pages: int = Field(default=10_000, ge=1, description="pages per collection before a cursor loop is assumed")
    collection_timeout: float | None = Field(
        default=None,
        gt=0,
        description="seconds one collection's walk (all pages, retries included) may take before it fails alone; "
        "default: a third of openchoreo.schedule.timeout",
    )


DEFAULT_READER_SLICE_MS = 0.1
"""The shortest slice Linux grants: on an idle 2-core machine it brought a sync under 8 readers from
1.22-1.26x to 1.09x its idle time and by-name p99 during a sync from 0.75-0.86x to 0.38x idle
(docs/performance.md), at no cost to anyone's CPU share."""


class ServerConfig(_Model):
    """The daemon's own HTTP server (catalog read API, published YAML, events)."""

    host: str = "127.0.0.1"
    port: int = Field(default=7007, ge=0, le=65535)
    token: SecretStr | None = None
    header_timeout: float = Field(default=10.0, gt=0, le=300, description="seconds a client has to send its headers")
    body_timeout: float = Field(default=30.0, gt=0, le=600, description="seconds a client may pause sending a body")
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="request bodies larger than this get 413")
    max_connections: int | None = Field(
        default=None,
        ge=1,
        description="open client connections at once; default: a quarter of the open-files limit, at most 1024",
    )
    metrics_token: bool = Field(
        default=False,
        description="whether /metrics needs the server token too; off by default, as Prometheus scrapes expect",
    )
    read_processes: int | None = Field(
        default=None,
        ge=0,
        le=16,
        description="processes that own the public port and answer the replica-safe read routes (the embedded "
        "catalog's read API) straight from the store, forwarding every other request to the daemon's own "
        "process; 0 serves everything from the daemon's process (reads then share its event loop with syncs); "
        "default: 1 when an enabled plugin serves replica-safe routes, else 0",
    )
    reader_slice_ms: float | None = Field(
        default=DEFAULT_READER_SLICE_MS,
        ge=0.1,
        le=100,
        description="CPU time slice (ms) each reader process asks Linux's scheduler for (6.12 and later): a "
        "shorter one lets a request preempt a sync's CPU work sooner without changing any process's CPU share; "
        "null: the kernel's default; older kernels and other systems keep theirs either way",
    )


class SafetyConfig(_Model):
    """Guards against mass deletion caused by upstream faults."""

    max_deletion_ratio: float = Field(default=0.5, ge=0.0, le=1.0)
    deletion_grace_runs: int = Field(default=1, ge=1)
    allow_mass_deletion: bool = False
    empty_collection_runs: int = Field(
        default=3,
        ge=1,
        description="consecutive runs a collection that held entities must list nothing before they are removed",
    )


class EventsConfig(_Model):
    enabled: bool = True
    token: SecretStr | None = None
    signature_secret: SecretStr | None = Field(
        default=None,
        description="when set, every event must carry X-OpenChoreo-Signature: sha256=<HMAC-SHA256 of the body, hex>",
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=256)
    queue_size: int = Field(
        default=500, ge=1, description="resources the catalog holds pending at once; more falls back to one full sync"
    )
    unknown_budget: int = Field(
        default=100,
        ge=1,
        description="pending events for resources the catalog does not hold; more are dropped for one full sync",
    )
    max_refetch_per_second: float = Field(
        default=20.0, gt=0, le=10_000, description="upstream re-fetches the events start per second, at most"
    )
    coalesce_ms: int = Field(default=200, ge=0, description="a resource is re-fetched once its events pause this long")
    max_delay_ms: int = Field(default=2000, ge=0, description="...or at the latest this long after its first event")


class LoggingConfig(_Model):
    """How loud a failure that repeats run after run is."""

    repeat_every: int = Field(
        default=20, ge=1, description="log a repeated, unchanged failure in full again every this many runs"
    )


class SqliteConfig(_Model):
    path: Path = Path(".openchoreo-sync/state.sqlite3")
    busy_timeout: float = Field(
        default=30.0, gt=0, le=600, description="seconds a write waits for another process's write lock"
    )


class PostgresConfig(_Model):
    dsn: SecretStr | None = None
    lease_seconds: float = Field(
        default=15.0,
        ge=2,
        le=600,
        description="the leader's lease; a frozen or cut-off leader is replaced within about this plus frequency",
    )


class OpenChoreoConfig(_Lenient):
    base_url: str | None = None
    """Required by every command that calls the API; ``validate_config(needs_api=False)`` skips it."""
    schedule: ScheduleConfig = ScheduleConfig()
    default_owner: str = "openchoreo-users"
    features: FeaturesConfig = FeaturesConfig()
    auth: AuthConfig = AuthConfig()
    client: ClientConfig = ClientConfig()
    server: ServerConfig = ServerConfig()
    safety: SafetyConfig = SafetyConfig()
    events: EventsConfig = EventsConfig()
    logging: LoggingConfig = LoggingConfig()
    store: Literal["sqlite", "postgres"] = "sqlite"
    sqlite: SqliteConfig = SqliteConfig()
    postgres: PostgresConfig = PostgresConfig()
    plugins: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("base_url")
    @classmethod
    def _strip_api_prefix(cls, value: str | None) -> str | None:
        from .kit.endpoints import API_ROOT  # the kit's package imports this module

        if value is None:
            return None
        value = value.strip().rstrip("/")
        if value.endswith(API_ROOT):
            value = value[: -len(API_ROOT)]
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http(s) URL such as http://openchoreo-api:8080, got {value!r}")
        return value

    @field_validator("default_owner", mode="before")
    @classmethod
    def _owner_fallback(cls, value: Any) -> Any:
        return value or "openchoreo-users"

    @field_validator("plugins", mode="before")
    @classmethod
    def _plugin_blocks(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("must map plugin names to settings, e.g. {components: {enabled: false}}")
        for name, block in value.items():
            if block is not None and not isinstance(block, dict):
                raise ValueError(f"openchoreo.plugins.{name} must be a mapping such as {{enabled: false}}")
        return {name: dict(block or {}) for name, block in value.items()}

    @model_validator(mode="after")
    def _auth_complete(self) -> OpenChoreoConfig:
        if self.auth_enabled:
            missing = self.auth.missing_keys()
            if missing:
                raise ValueError(
                    "openchoreo.features.auth.enabled is true but "
                    + ", ".join(missing)
                    + " is not set; set them (the OAuth2 client credentials of the sync) or set "
                    "openchoreo.features.auth.enabled: false if the cluster runs without auth"
                )
        return self

    @model_validator(mode="after")
    def _events_guarded(self) -> OpenChoreoConfig:
        unguarded = not any(t is not None and t.get_secret_value() for t in (self.events.token, self.server.token))
        if self.events.enabled and unguarded and not is_loopback(self.server.host):
            raise ValueError(
                f"openchoreo.events.enabled is true and openchoreo.server.host ({self.server.host}) is not a "
                "loopback address, but no token is set: anyone who can reach the port could make the daemon "
                "re-fetch at will. Set openchoreo.events.token (or openchoreo.server.token), bind "
                "openchoreo.server.host to 127.0.0.1, or set openchoreo.events.enabled: false"
            )
        return self

    @model_validator(mode="after")
    def _deadlines_fit(self) -> OpenChoreoConfig:
        explicit = self.client.collection_timeout
        if explicit is not None and 2 * explicit >= self.schedule.timeout:
            raise ValueError(
                f"openchoreo.client.collectionTimeout ({explicit:g} s) does not fit twice into "
                f"openchoreo.schedule.timeout ({self.schedule.timeout} s): a namespaced collection waits for "
                "the namespace list and then walks its own pages, so one slow collection would time the "
                "whole run out and healthy ones would get nothing; lower collectionTimeout or raise "
                "schedule.timeout"
            )
        return self

    @property
    def collection_deadline(self) -> float:
        """Seconds one collection may take: a slow or endless one fails alone and is carried forward."""
        explicit = self.client.collection_timeout
        return explicit if explicit is not None else self.schedule.timeout / 3

    @property
    def api_url(self) -> str:
        """``baseUrl``, for code that calls the API (``validate_config`` made sure it is set)."""
        if self.base_url is None:
            raise ConfigError(["openchoreo.baseUrl is required but not set"])
        return self.base_url

    @property
    def auth_enabled(self) -> bool:
        """Explicit flag wins; unset means on exactly when any credential is configured."""
        if self.features.auth.enabled is not None:
            return self.features.auth.enabled
        return any((self.auth.client_id, self.auth.client_secret, self.auth.token_url))

    @property
    def default_owner_ref(self) -> str:
        """``group:default/<owner>``, unless the configured value already is an entity ref."""
        owner = self.default_owner
        if ":" in owner:
            return owner
        if "/" in owner:
            return f"group:{owner}"
        return f"group:default/{owner}"

    def plugin_enabled(self, name: str, *, default: bool = True) -> bool:
        block = self.plugins.get(name) or {}
        value = block.get("enabled", default)
        return bool(value)

    def plugin_settings(self, name: str) -> dict[str, Any]:
        return {k: v for k, v in (self.plugins.get(name) or {}).items() if k != "enabled"}


class CatalogRule(_Lenient):
    allow: list[str] = Field(default_factory=list)


class CatalogConfig(_Lenient):
    rules: list[CatalogRule] | None = None


class AppConfig(_Lenient):
    """The whole file; other top-level blocks are kept unvalidated for the plugins that own them."""

    model_config = ConfigDict(extra="allow")

    openchoreo: OpenChoreoConfig
    catalog: CatalogConfig = CatalogConfig()

    def block(self, key: str) -> dict[str, Any] | None:
        """Another top-level block of the config (``thunder`` for the identity provider), as written.

        The core validates only ``openchoreo`` and ``catalog``; a plugin reading a second service's
        keys gets them here and validates them itself (naming the keys in its errors). None when
        the block is absent or empty; ``ConfigError`` when it is not a mapping.
        """
        value = (self.model_extra or {}).get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ConfigError([f"{key} must be a mapping of settings, got {type(value).__name__}"])
        return dict(value)

    def allowed_kinds(self) -> set[str] | None:
        """Kinds Backstage's catalog.rules allow (lower-case), or None when no rules are set."""
        if self.catalog.rules is None:
            return None
        return {kind.lower() for rule in self.catalog.rules for kind in rule.allow}


def _dotted(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(item)
    return ".".join(parts)


def format_validation_error(error: ValidationError, raw: RawConfig) -> list[str]:
    problems = []
    for item in error.errors():
        loc = tuple(p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        key = _dotted(loc)
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            message = "is required but not set"
        elif item["type"] == "extra_forbidden":
            message = "is not a known key here; check its spelling"
        problems.append(f"{raw.origin_of(key)}: {key or '<top level>'} {message}")
    return problems


def validate_config(raw: RawConfig, *, needs_api: bool = True) -> AppConfig:
    """The validated config; ``needs_api=False`` for commands that never call OpenChoreo
    (``plugins``, ``status``, ``approve-deletions``, ``check`` without ``--probe``), which then
    accept a config with no ``openchoreo.baseUrl``."""
    if "openchoreo" not in raw.data and needs_api:
        raise ConfigError(["no 'openchoreo' section found; at least openchoreo.baseUrl must be set"])
    data = raw.data if "openchoreo" in raw.data else {**raw.data, "openchoreo": {}}
    try:
        config = AppConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, raw)) from None
    if needs_api and config.openchoreo.base_url is None:
        raise ConfigError(
            [f"{raw.origin_of('openchoreo')}: openchoreo.baseUrl is required but not set (the OpenChoreo API root)"]
        )
    return config


def load_config(
    paths: list[Path], env: Mapping[str, str] | None = None, *, needs_api: bool = True
) -> tuple[AppConfig, RawConfig]:
    """Load, merge, substitute and validate; raises ConfigError listing every problem."""
    raw = load_raw_config(paths, env)
    return validate_config(raw, needs_api=needs_api), raw


def redacted(config: AppConfig) -> dict[str, Any]:
    """The effective configuration as a plain mapping with every secret masked."""
    # Other top-level blocks (a Backstage app-config's own) are not ours to show.
    ours = config.model_dump(mode="json", by_alias=True, exclude_none=True, exclude=set(config.model_extra or {}))
    data: dict[str, Any] = _mask_secret_looking(ours)
    return data


_SECRET_WORDS = ("secret", "token", "password", "dsn")


def _mask_secret_looking(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _mask_secret_looking(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_secret_looking(v, key) for v in value]
    if isinstance(value, str) and value and any(w in key.lower() for w in _SECRET_WORDS) and key != "tokenUrl":
        return "***"
    return value


def is_loopback(host: str) -> bool:
    """Whether a server bound to ``host`` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything
