"""The few Backstage catalog calls the sink makes, with the static token.

Register the index location once (201, or 409 when it already exists: then it is looked up), and
refresh location entities so a changed file is re-read at once instead of at the next processing
interval. Errors name the call and Backstage's answer; a raised error makes the engine retry the
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
