"""The Backstage output's state for one daemon: what is served, what Backstage was told.

Two views are kept apart on purpose. ``served`` is what the HTTP route answers with; it follows
the committed snapshot (rebuilt from the store when another process committed a newer one).
``announced`` is what Backstage was last asked to re-read; only ``emit`` moves it, after the
refresh calls succeeded, so a request that rebuilt ``served`` early can never hide a change
from the refresh logic.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable, Iterable
from typing import Any

from openchoreo_sync.kit import AppConfig, CatalogReader, ChangeSet, Entity, SnapshotView, SyncContext
from openchoreo_sync.kit.publishing import clean_entity, filter_allowed

from .api import CatalogApi, Registration
from .kinds import apply_custom_kinds
from .layout import (
    Publication,
    build_publication,
    changed_files,
    digests,
    location_ref,
)
from .settings import BackstageSettings

ROUTE_PREFIX = "/backstage/published"
STORE_CHECK_SECONDS = 1.0
"""How often (at most) a request compares the served version with the store's."""


def derive_publish_key(settings: BackstageSettings) -> str:
    """The unguessable path segment: from ``publishKey`` if set, else from the Backstage token.

    A Backstage UrlReader cannot send our server token, so the YAML routes are public; knowing the
    URL is the only access control. HMAC keeps the secret itself out of the URL.
    """
    secret = (settings.publish_key or settings.token).get_secret_value()
    return hmac.new(secret.encode(), b"openchoreo-sync/backstage-publish", hashlib.sha256).hexdigest()[:32]


class BackstageSink:
    def __init__(
        self,
        settings: BackstageSettings,
        config: AppConfig,
        log: Any,
        *,
        server_url: Callable[[], str | None] = lambda: None,
        catalog: CatalogReader | None = None,
    ) -> None:
        self.settings = settings
        self.config = config
        self.log = log
        self.key = derive_publish_key(settings)
        self._server_url = server_url
        self.catalog = catalog
        self.served: Publication | None = None
        self.served_version: str | None = None
        self._checked_at = 0.0
        self.announced: dict[str, str] | None = None
        self.registration: Registration | None = None
        self._api: CatalogApi | None = None
        self._emit_lock = asyncio.Lock()
        self._build_lock = asyncio.Lock()

    # --- where ---------------------------------------------------------------------------------

    def publish_root(self) -> str | None:
        base = self.settings.publish_url or self._server_url()
        return f"{base.rstrip('/')}{ROUTE_PREFIX}/{self.key}" if base else None

    def api(self) -> CatalogApi:
        if self._api is None:
            self._api = CatalogApi(
                self.settings.base_url, self.settings.token.get_secret_value(), timeout=self.settings.timeout
            )
        return self._api

    async def close(self) -> None:
        if self._api is not None:
            await self._api.close()
            self._api = None

    # --- what ----------------------------------------------------------------------------------

    def prepare(self, entities: Iterable[Entity], *, log: Any = None) -> list[Entity]:
        """customKinds, then the catalog.rules preflight, then strip computed fields."""
        converted, problems = apply_custom_kinds(
            entities, self.settings.custom_kinds, self.config.openchoreo.default_owner_ref
        )
        preflight = filter_allowed(converted, self.config)
        if log is not None:
            for problem in problems:
                log.warning("backstage: entity not published", problem=problem)
            message = preflight.warning()
            if message:
                log.warning(f"backstage preflight: {message}")
        return [clean_entity(e) for e in preflight.allowed]

    def build(self, entities: Iterable[Entity], root: str, *, log: Any = None) -> Publication:
        """The publication of ``entities``; problems are logged only when ``log`` is given."""
        return build_publication(self.prepare(entities, log=log), root, self.settings.split_by)

    # --- serving -------------------------------------------------------------------------------

    def _set_served(self, publication: Publication, version: str | None) -> None:
        self.served = publication
        self.served_version = version

    async def current(self) -> Publication | None:
        """What to serve now; rebuilt from the store when it holds a newer snapshot than ``served``."""
        root = self.publish_root()
        if root is None:
            return self.served
        catalog = self.catalog
        now = time.monotonic()
        stale = self.served is None or self.served.root_url != root
        if not stale and catalog is not None and now - self._checked_at >= STORE_CHECK_SECONDS:
            self._checked_at = now
            version = await asyncio.to_thread(catalog.snapshot_version)
            stale = version != self.served_version
        if stale and catalog is not None:
            async with self._build_lock:
                version = await asyncio.to_thread(catalog.snapshot_version)
                if self.served is None or version != self.served_version or self.served.root_url != root:
                    bodies = await asyncio.to_thread(lambda: [b for _, b in catalog.all_bodies()])
                    publication = await asyncio.to_thread(self.build, bodies, root)
                    self._set_served(publication, version)
        return self.served

    # --- emit ----------------------------------------------------------------------------------

    async def emit(self, snapshot: SnapshotView, changes: ChangeSet, ctx: SyncContext) -> None:
        log = ctx.log.bind(output="backstage")
        root = self.publish_root()
        if root is None:
            log.warning(
                "backstage: nothing published: this process serves no HTTP and "
                "openchoreo.plugins.backstage.publishUrl is not set"
            )
            return
        entities = [body for _, body in snapshot.entities(with_relations=False)]  # Backstage relates itself
        publication = await asyncio.to_thread(self.build, entities, root, log=log)
        self._set_served(publication, snapshot.run_id)
        if not self.settings.register_location:
            self.announced = digests(publication)
            return
        async with self._emit_lock:
            await self._announce(publication, full=changes.full, log=log)

    async def _announce(self, publication: Publication, *, full: bool, log: Any) -> None:
        api = self.api()
        if full:
            self.registration = None  # re-check: someone may have unregistered it
        if self.registration is None or self.registration.target != publication.index_url:
            self.registration = await api.register(publication.index_url)
            log.info(
                "backstage: index location registered"
                if self.registration.created
                else "backstage: index location already registered",
                target=publication.index_url,
                location_id=self.registration.location_id,
            )
            if self.registration.created:
                self.announced = digests(publication)  # Backstage reads every file by itself now
                return
        before = None if full else self.announced
        files, index_changed = changed_files(before, publication)
        refs = [publication.location_entity_ref(path) for path in files]
        if index_changed:
            refs.append(location_ref(publication.index_url))
        if refs:
            missing = await api.refresh_all(refs, self.settings.refresh_concurrency)
            log.info(
                "backstage: refreshed changed locations",
                files=len(files),
                index=index_changed,
                not_yet_known=len(missing),
            )
        self.announced = digests(publication)
