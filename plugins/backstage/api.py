"""The few Backstage catalog calls the sink makes, with the static token.

Register the index location (201, or 409 when it already exists: then it is looked up), refresh
location entities so a changed file is re-read at once instead of at the next processing
interval, and read back what Backstage holds: entities by ref, how many entities our location
owns, and Backstage's reasons for refusing something (``validate-entity``, a dry-run read of a
location). Errors name the call and Backstage's answer; a raised error makes the engine retry the
whole publication (a full reconcile) next run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx


class BackstageApiError(RuntimeError):
    """Backstage answered something other than what the call expects."""


@dataclass(frozen=True)
class Registration:
    location_id: str | None
    target: str
    created: bool
    """True when this call created it (Backstage then reads everything by itself)."""


BY_REFS_BATCH = 500
"""Refs per ``POST /entities/by-refs`` call: a few hundred keep each answer small."""
ORIGIN_ANNOTATION = "backstage.io/managed-by-origin-location"


def error_messages(resp: httpx.Response) -> list[str]:
    """Backstage's error texts from a 4xx body (``{"errors": [...]}`` or ``{"error": {...}}``)."""
    try:
        body = resp.json()
    except ValueError:
        return [resp.text[:300] or f"HTTP {resp.status_code}"]
    items = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(items, list):
        error = body.get("error") if isinstance(body, dict) else None
        items = [error] if isinstance(error, dict) else []
    messages = [str(i.get("message") or i.get("name") or i) for i in items if isinstance(i, dict)]
    return messages or [resp.text[:300]]


def _describe(resp: httpx.Response) -> str:
    text = resp.text[:300].replace("\n", " ")
    hint = ""
    if resp.status_code == 401:
        hint = " (check openchoreo.plugins.backstage.token against backend.auth.externalAccess)"
    return f"{resp.request.method} {resp.request.url.path} answered {resp.status_code}{hint}: {text}"


class CatalogApi:
    """An httpx client bound to one Backstage backend."""

    def __init__(self, base_url: str, token: str, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None):
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def locations(self) -> list[dict[str, Any]]:
        """``GET /api/catalog/locations`` as ``[{id, type, target}]``."""
        resp = await self._client.get("/api/catalog/locations")
        if resp.status_code != 200:
            raise BackstageApiError(_describe(resp))
        return [item.get("data", item) for item in resp.json()]

    async def register(self, target: str) -> Registration:
        """Register ``target`` as a url location; idempotent (409 = already there, looked up)."""
        resp = await self._client.post("/api/catalog/locations", json={"type": "url", "target": target})
        if resp.status_code == 201:
            location = resp.json().get("location") or {}
            return Registration(location.get("id"), target, created=True)
        if resp.status_code == 409:
            for location in await self.locations():
                if location.get("type") == "url" and location.get("target") == target:
                    return Registration(location.get("id"), target, created=False)
            raise BackstageApiError(f"{_describe(resp)}; but {target} is not among GET /api/catalog/locations")
        raise BackstageApiError(_describe(resp))

    async def refresh(self, entity_ref: str) -> bool:
        """Ask Backstage to re-process ``entity_ref`` now; False when it does not exist (yet)."""
        resp = await self._client.post("/api/catalog/refresh", json={"entityRef": entity_ref})
        if resp.status_code in (200, 204):
            return True
        if resp.status_code == 404:
            return False
        raise BackstageApiError(_describe(resp))

    async def by_refs(self, refs: list[str]) -> dict[str, dict[str, Any] | None]:
        """``POST /entities/by-refs`` (in batches): ref -> its kind/metadata, or None when absent."""
        out: dict[str, dict[str, Any] | None] = {}
        fields = ["kind", "metadata.name", "metadata.namespace", "metadata.annotations"]
        for start in range(0, len(refs), BY_REFS_BATCH):
            batch = refs[start : start + BY_REFS_BATCH]
            resp = await self._client.post(
                "/api/catalog/entities/by-refs", json={"entityRefs": batch, "fields": fields}
            )
            if resp.status_code != 200:
                raise BackstageApiError(_describe(resp))
            items = resp.json().get("items") or []
            for ref, item in zip(batch, items, strict=False):
                out[ref] = item if isinstance(item, dict) else None
        return out

    async def count_from_origin(self, target: str) -> int:
        """How many entities Backstage holds that came in through the url location ``target``."""
        params = {"filter": f"metadata.annotations.{ORIGIN_ANNOTATION}=url:{target}", "limit": "0"}
        resp = await self._client.get("/api/catalog/entities/by-query", params=params)
        if resp.status_code != 200:
            raise BackstageApiError(_describe(resp))
        return int(resp.json().get("totalItems", 0))

    async def validate_entity(self, entity: dict[str, Any], location: str) -> list[str]:
        """Backstage's reasons to refuse ``entity`` (processors, schema); empty when it is valid."""
        resp = await self._client.post(
            "/api/catalog/validate-entity", json={"location": f"url:{location}", "entity": entity}
        )
        if resp.status_code == 200:
            return []
        if resp.status_code == 400:
            return error_messages(resp)
        raise BackstageApiError(_describe(resp))

    async def dry_run(self, target: str) -> list[str]:
        """Read ``target`` as a location without registering it: Backstage's errors, empty when fine.

        Unlike a plain registration this reads at once, so it shows what a real read would reject:
        kinds ``catalog.rules`` does not allow, unreadable URLs (``backend.reading.allow``).
        """
        resp = await self._client.post(
            "/api/catalog/locations", params={"dryRun": "true"}, json={"type": "url", "target": target}
        )
        if resp.status_code in (200, 201, 409):  # 409: that target is registered already
            return []
        if resp.status_code in (400, 404):
            return error_messages(resp)
        raise BackstageApiError(_describe(resp))

    async def unregister(self, location_id: str) -> None:
        resp = await self._client.delete(f"/api/catalog/locations/{location_id}")
        if resp.status_code not in (200, 204, 404):
            raise BackstageApiError(_describe(resp))

    async def refresh_all(self, refs: Iterable[str], concurrency: int) -> list[str]:
        """Refresh every ref (bounded concurrency); raise after trying all if any failed."""
        gate = asyncio.Semaphore(concurrency)
        refs = list(refs)

        async def one(ref: str) -> bool:
            async with gate:
                return await self.refresh(ref)

        results = await asyncio.gather(*(one(r) for r in refs), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise BackstageApiError(f"{len(errors)} of {len(refs)} refreshes failed; first: {errors[0]}")
        return [ref for ref, ok in zip(refs, results, strict=True) if ok is False]
