"""Read a hand-written scaffolder Template from the URL a component type names.

The official module reads it through Backstage's URL reader, whose ``reading.allow`` decides which
hosts may be read. Here the same decision is this plugin's: http(s) only, hosts on an allow-list
(default: the OpenChoreo API's host and the daemon's own), no redirects (a redirect could leave
the list), a size cap and a timeout. No credential is ever sent: the OpenChoreo token is for the
API, not for whatever the URL names. Every failure is a :class:`TemplateUnreadable` naming the
URL and the reason; the caller emits no Template for that type.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

from .settings import TemplatesSettings

SETTINGS_KEY = "openchoreo.plugins.templates.templateUrlHosts"


class TemplateUnreadable(Exception):
    """The override URL cannot be used; the message says why and names the URL."""


def allowed_hosts(settings: TemplatesSettings, api_url: str | None, server_url: str | None) -> frozenset[str]:
    """The configured hosts, or the API's and the daemon's own hosts when none are configured."""
    if settings.template_url_hosts is not None:
        return frozenset(host.strip().lower() for host in settings.template_url_hosts if host.strip())
    hosts = (urlsplit(url).hostname for url in (api_url, server_url) if url)
    return frozenset(host.lower() for host in hosts if host)


def check_url(url: str, hosts: Iterable[str]) -> None:
    """Raise unless ``url`` is http(s) on an allowed host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise TemplateUnreadable(f"template URL {url!r} is not http or https")
    host = (parts.hostname or "").lower()
    allowed = sorted(hosts)
    if host not in allowed:
        raise TemplateUnreadable(
            f"template URL {url!r}: host {host!r} is not allowed (allowed: {', '.join(allowed) or 'none'}; "
            f"add it to {SETTINGS_KEY})"
        )


async def read_template(client: httpx.AsyncClient, url: str, settings: TemplatesSettings) -> dict[str, Any]:
    """The first ``kind: Template`` document at ``url`` (the URL already checked)."""
    limit = settings.template_url_max_bytes
    try:
        async with asyncio.timeout(settings.template_url_timeout_seconds):
            async with client.stream("GET", url, follow_redirects=False) as response:
                if response.status_code != 200:
                    raise TemplateUnreadable(f"template URL {url!r} answered HTTP {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > limit:
                        raise TemplateUnreadable(f"template at {url!r} is larger than {limit} bytes")
    except TimeoutError:
        raise TemplateUnreadable(
            f"template URL {url!r} did not answer within {settings.template_url_timeout_seconds:g} s"
        ) from None
    except httpx.HTTPError as exc:
        raise TemplateUnreadable(f"template URL {url!r} cannot be read: {type(exc).__name__}: {exc}") from None
    return parse_template(bytes(body), url)


def parse_template(raw: bytes, url: str) -> dict[str, Any]:
    """The first document with ``kind: Template``, which must have a metadata mapping."""
    try:
        documents = list(yaml.safe_load_all(raw.decode("utf-8")))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TemplateUnreadable(f"template at {url!r} is not YAML: {exc}") from None
    template = next((d for d in documents if isinstance(d, dict) and d.get("kind") == "Template"), None)
    if template is None:
        raise TemplateUnreadable(f"template at {url!r} has no 'kind: Template' document")
    if not isinstance(template.get("metadata"), dict):
        raise TemplateUnreadable(f"template at {url!r} has no metadata block")
    return template


def new_client(settings: TemplatesSettings) -> httpx.AsyncClient:
    """A client of its own: no auth, no cookies shared with the API client, no proxies from the environment."""
    return httpx.AsyncClient(timeout=settings.template_url_timeout_seconds, trust_env=False)
