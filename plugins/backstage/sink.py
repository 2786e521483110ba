"""The Backstage output's state for one daemon: what is served, what Backstage was told and holds.

Two views are kept apart on purpose. ``served`` is what the HTTP route answers with; it follows
the committed snapshot (rebuilt from the store when another process committed a newer one).
``announced`` is what Backstage was last asked to re-read; only ``emit`` moves it, after the
refresh calls succeeded, so a request that rebuilt ``served`` early can never hide a change
from the refresh logic.

Every run converges on what Backstage *holds*, not on what was last sent: the registration must
be in Backstage's location list and our location must own as many entities as the last
verification saw; otherwise it registers again or refreshes every file. After telling Backstage
anything, it verifies (bounded) that each published entity arrived, and names what Backstage
refused with Backstage's own reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from openchoreo_sync.kit import (
    AppConfig,
    CatalogReader,
    ChangeSet,
    Entity,
    OutputReport,
    SnapshotView,
    SyncContext,
    entity_ref,
    paused_gc,
)
from openchoreo_sync.kit.publishing import clean_entity, configured_allow, filter_allowed, strip_computed

from .api import CatalogApi, Registration
from .graph import Forward, express_relations, forward_relations
from .kinds import BUILTIN_KINDS, BUILTIN_NAMES, convert_kinds, is_builtin
from .layout import (
    Publication,
    RenderedFiles,
    build_publication,
    changed_files,
    digests,
    location_ref,
)
from .owners import missing_owner_groups
from .settings import BackstageSettings
from .verify import Verdict, fix_for, verify

ROUTE_PREFIX = "/backstage/published"
NO_REASON = "not in Backstage a whole run after it was published, and Backstage gave no reason"
MAX_PROBLEMS = 50
"""Problem lines per run record; the counts in ``output_details`` cover the rest."""
STORE_CHECK_SECONDS = 1.0
"""How often (at most) a request compares the served version with the store's."""


def derive_publish_key(settings: BackstageSettings) -> str:
    """The unguessable path segment: from ``publishKey`` if set, else from the Backstage token.

    A Backstage UrlReader cannot send our server token, so the YAML routes are public; knowing the
    URL is the only access control. HMAC keeps the secret itself out of the URL.
    """
    secret = (settings.publish_key or settings.token).get_secret_value()
    return hmac.new(secret.encode(), b"openchoreo-sync/backstage-publish", hashlib.sha256).hexdigest()[:32]


@dataclass
class Prepared:
    """What one build made of the snapshot, for the run record and the log."""

    entities: list[Entity]
    ref_map: dict[str, str] = field(default_factory=dict)
    """original ref -> published ref (converted entities get a new name)"""
    converted_kinds: dict[str, int] = field(default_factory=dict)
    owner_groups: list[str] = field(default_factory=list)
    relations: dict[str, dict[str, int]] = field(default_factory=dict)
    dangling: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@dataclass
class LastBuild:
    """The last build from a snapshot whose content the view could name (``content_key``).

    An emit of a snapshot with the same content and the same state of this output (the key) takes
    this publication as it is: no read, no preparation, no rendering. The publication is the one
    served, so this keeps no second copy of it.
    """

    key: tuple[str, str]
    """(the snapshot's content key, :meth:`BackstageSink.state_key` when it was built)"""
    publication: Publication
    prepared: Prepared
    custom_kinds: frozenset[str]
    """lower-case custom kinds of the snapshot: ``customKinds: auto`` must know each of them"""


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
        self.kind_verdicts: dict[str, str | None] = {}
        """lower-case custom kind -> None (Backstage accepts it as is) or Backstage's reason not to"""
        self.kind_names: dict[str, str] = {}
        self.learned: dict[str, str] = {}
        """custom kinds validate-entity accepted but a real read refused (catalog.rules): now Resource"""
        self.held_expected: int | None = None
        """entities our location owned in Backstage at the last verification (the per-run check)"""
        self.rejected: dict[str, str] = {}
        self.groups_elsewhere: set[str] = set()
        """owner groups Backstage already holds from another origin (identity sync): not published"""
        self.pending: set[str] = set()
        self.verify_due = False
        """an event delta told Backstage something: the next full run verifies"""
        self.last_prepared: Prepared | None = None
        self.rendered = RenderedFiles()
        """the last build's files by the key of their documents: unchanged files are not rendered again"""
        self.last_build: LastBuild | None = None
        """the last build of a snapshot with a content key: an unchanged snapshot is not built again"""
        self._dangling_logged: dict[str, int] | None = None
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

    def native_kinds(self) -> set[str]:
        """auto: the custom kinds Backstage accepts and this daemon's catalog.rules (if set) allow."""
        accepted = {kind for kind, reason in self.kind_verdicts.items() if reason is None}
        allow = configured_allow(self.config)
        if allow is not None:
            accepted &= {k.lower() for k in allow}
        return accepted

    def prepare_all(self, entities: Iterable[Entity]) -> Prepared:
        """customKinds, relations into built-in fields, owner groups, the catalog.rules preflight, clean."""
        mode = self.settings.custom_kinds
        native = self.native_kinds()
        default_owner = self.config.openchoreo.default_owner_ref
        conversion = convert_kinds(entities, mode, default_owner, native)
        prepared = Prepared([], ref_map=conversion.ref_map, problems=list(conversion.problems))
        published = conversion.entities
        forward: Forward | None = None
        if mode in ("auto", "resource"):
            no_processors = mode == "resource" or not native
            published, expressed = express_relations(
                published, conversion.ref_map, conversion.converted, custom_everywhere=no_processors
            )
            prepared.relations = expressed.summary()
            forward = expressed.forward
        for entity in published:
            if str(entity["metadata"].get("annotations", {}).get("openchoreo.io/original-kind", "")):
                kind = entity["metadata"]["annotations"]["openchoreo.io/original-kind"]
                prepared.converted_kinds[kind] = prepared.converted_kinds.get(kind, 0) + 1
        if self.settings.owner_groups:
            groups = missing_owner_groups(published, default_owner, provided_elsewhere=self.groups_elsewhere)
            prepared.owner_groups = [entity_ref(g) for g in groups]
            published = [*published, *groups]
        preflight = filter_allowed(published, self.config)
        message = preflight.warning()
        if message:
            prepared.problems.append(f"backstage preflight: {message}")
        prepared.dangling = _dangling(preflight.allowed, conversion.ref_map, forward)
        # Not defused here: dump_entities marks placeholders as it writes (no copy of every container).
        prepared.entities = [strip_computed(e) for e in preflight.allowed]
        return prepared

    def prepare(self, entities: Iterable[Entity], *, log: Any = None) -> list[Entity]:
        prepared = self.prepare_all(entities)
        if log is not None:
            self._prepared_for_run(prepared, log)
        return prepared.entities

    def _prepared_for_run(self, prepared: Prepared, log: Any) -> None:
        """What a run's build reports: the run record's details, the problems in the log.

        Kept without its entities (they share the snapshot's bodies: kept, they would hold them all
        until the next build, a second copy beside a reused build's)."""
        self.last_prepared = prepared if not prepared.entities else replace(prepared, entities=[])
        for problem in prepared.problems:
            log.warning(problem if problem.startswith("backstage") else f"backstage: entity not published: {problem}")
        self._log_dangling(prepared.dangling, log)

    def build(self, entities: Iterable[Entity], root: str, *, log: Any = None) -> Publication:
        """The publication of ``entities``; problems are logged only when ``log`` is given.

        Without cyclic GC (see ``paused_gc``): preparing copies the levels it changes of ~14k
        entities at 10k, and every collection would re-scan them all (and the snapshot's bodies).
        """
        with paused_gc():
            return build_publication(self.prepare(entities, log=log), root, self.settings.split_by, self.rendered)

    def state_key(self, root: str) -> str:
        """Everything besides the entities that a build depends on (settings, what Backstage accepts)."""
        allow = configured_allow(self.config)
        return repr(
            (
                root,
                id(self.config),
                self.settings.custom_kinds,
                self.settings.owner_groups,
                self.settings.split_by,
                self.config.openchoreo.default_owner_ref,
                sorted(self.native_kinds()),
                sorted(self.groups_elsewhere),
                None if allow is None else sorted(allow),
            )
        )

    def reuse(self, snapshot: SnapshotView, root: str, *, log: Any = None) -> Publication | None:
        """The last build's publication when ``snapshot`` holds what it was built from and nothing
        else it depends on changed (logged as a build is); else None."""
        last = self.last_build
        if last is None:
            return None  # no key asked for: a first emit pays nothing for it
        content = snapshot.content_key()
        if content is None or last.key != (content, self.state_key(root)):
            return None
        detects = self.settings.register_location and self.settings.custom_kinds == "auto"
        if detects and not last.custom_kinds <= self.kind_verdicts.keys():
            return None  # Backstage is to be asked about a kind again (it restarted)
        if log is not None:
            self._prepared_for_run(last.prepared, log)
        return last.publication

    def remember(self, snapshot: SnapshotView, entities: list[Entity], publication: Publication, root: str) -> None:
        """Keep a run's ``publication`` of ``entities`` (just read from ``snapshot``) for :meth:`reuse`."""
        content = snapshot.content_key()  # of what was read (a store snapshot keeps it: no query)
        if content is None or self.last_prepared is None:
            self.last_build = None
            return
        kinds = frozenset(str(e.get("kind", "")).lower() for e in entities) - BUILTIN_KINDS
        self.last_build = LastBuild((content, self.state_key(root)), publication, self.last_prepared, kinds)

    def read(self, snapshot: SnapshotView) -> list[Entity]:
        """The snapshot's entities with their relations (kept through built-in fields).

        Decoded from the store for a ``StoreSnapshot`` (~0.4 s at 10k): run in a worker thread,
        without cyclic GC (decoding creates every body's dicts and lists).
        """
        with paused_gc():
            return [body for _, body in snapshot.entities()]

    def read_and_build(self, snapshot: SnapshotView, root: str, *, log: Any = None) -> Publication:
        """The last build when nothing it depends on changed (:meth:`reuse`); else :meth:`read` and
        :meth:`build` in one pause of the GC (the bodies are gone when it ends), kept with ``log``."""
        publication = self.reuse(snapshot, root, log=log)
        if publication is not None:
            return publication
        with paused_gc():
            entities = self.read(snapshot)
            publication = self.build(entities, root, log=log)
            if log is not None:
                self.remember(snapshot, entities, publication, root)
        return publication

    def _log_dangling(self, dangling: dict[str, int], log: Any) -> None:
        if dangling == self._dangling_logged:
            return
        self._dangling_logged = dangling
        if dangling:
            log.warning(
                "backstage: published entities refer to entities nobody publishes (dangling in Backstage)",
                total=sum(dangling.values()),
                by_relation=dangling,
            )

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
                    publication = await asyncio.to_thread(self._build_bodies, catalog, root)
                    self._set_served(publication, version)
        return self.served

    def _build_bodies(self, catalog: CatalogReader, root: str) -> Publication:
        with paused_gc():
            return self.build([b for _, b in catalog.all_bodies()], root)

    # --- emit ----------------------------------------------------------------------------------

    async def emit(self, snapshot: SnapshotView, changes: ChangeSet, ctx: SyncContext) -> OutputReport:
        log = ctx.log.bind(output="backstage")
        root = self.publish_root()
        if root is None:
            log.warning(
                "backstage: nothing published: this process serves no HTTP and "
                "openchoreo.plugins.backstage.publishUrl is not set"
            )
            return OutputReport()
        async with self._emit_lock:
            if not self.settings.register_location:
                publication = await asyncio.to_thread(self.read_and_build, snapshot, root, log=log)
                self._set_served(publication, snapshot.run_id)
                self.announced = digests(publication)
                return self._report(None)
            api = self.api()
            entities: list[Entity] | None = None
            reused = await asyncio.to_thread(self.reuse, snapshot, root, log=log)
            if reused is None:
                read = await asyncio.to_thread(self.read, snapshot)
                entities = read
                if self.settings.custom_kinds == "auto":
                    await self._detect_kinds(api, read, root, log)
                publication = await asyncio.to_thread(self.build, read, root, log=log)
                await asyncio.to_thread(self.remember, snapshot, read, publication, root)
            else:
                publication = reused
            self._set_served(publication, snapshot.run_id)  # served before any other call: events stay quick
            if changes.event and self.registration is not None and not changes.full:
                # An event delta: refresh what changed and nothing more; the next full run checks
                # that Backstage still holds everything and verifies what this delta published.
                told = await self._announce(api, publication, registered=True, full=False, log=log, quick=True)
                self.verify_due = self.verify_due or told
                return self._report(None)
            registered = await self._registered(api, root, log)
            told = await self._announce(api, publication, registered=registered, full=changes.full, log=log)
            verdict = None
            if (told or self.pending or self.verify_due) and self.settings.verify_timeout > 0:
                self.verify_due = False
                verdict = await self._verify(api, publication, log)
                if verdict is not None and self._learn_from(verdict, publication, log):
                    if entities is None:  # the last build was reused: read what it was built from
                        read = await asyncio.to_thread(self.read, snapshot)
                        entities = read
                    rebuilt: list[Entity] = entities
                    publication = await asyncio.to_thread(self.build, rebuilt, root, log=log)
                    await asyncio.to_thread(self.remember, snapshot, rebuilt, publication, root)
                    self._set_served(publication, snapshot.run_id)
                    await self._announce(api, publication, registered=True, full=False, log=log)
                    verdict = await self._verify(api, publication, log)
            return self._report(verdict)

    async def _registered(self, api: CatalogApi, root: str, log: Any) -> bool:
        """Whether our index is among Backstage's locations now (one call, every run)."""
        index_url = f"{root}/index.yaml"
        for location in await api.locations():
            if location.get("type") == "url" and location.get("target") == index_url:
                self.registration = Registration(location.get("id"), index_url, created=False)
                return True
        if self.registration is not None:
            log.warning(
                "backstage: our location is gone from Backstage (restarted with an empty catalog, or "
                "unregistered); registering it again",
                target=index_url,
            )
            self.registration = None
            self.kind_verdicts.clear()  # a restarted Backstage may have other processors or rules
            self.learned.clear()
            self.groups_elsewhere.clear()
        self.held_expected = None
        return False

    async def _register(self, api: CatalogApi, publication: Publication, log: Any) -> bool:
        """Register the index (after the publication it will read is served); False when it was there."""
        self.registration = await api.register(publication.index_url)
        log.info(
            "backstage: index location registered"
            if self.registration.created
            else "backstage: index location already registered",
            target=publication.index_url,
            location_id=self.registration.location_id,
        )
        return not self.registration.created

    async def _detect_kinds(self, api: CatalogApi, entities: list[Entity], root: str, log: Any) -> None:
        """customKinds auto: ask Backstage (validate-entity, one sample per kind) about unseen kinds."""
        samples: dict[str, Entity] = {}
        for entity in entities:
            kind = str(entity.get("kind", ""))
            if not is_builtin(kind) and kind.lower() not in self.kind_verdicts and kind.lower() not in samples:
                samples[kind.lower()] = clean_entity(entity)
                self.kind_names[kind.lower()] = kind
        if not samples:
            return
        for lower, sample in sorted(samples.items()):
            errors = await api.validate_entity(sample, f"{root}/index.yaml")
            self.kind_verdicts[lower] = errors[0] if errors else None
        self._advise(log)

    def _advise(self, log: Any) -> None:
        """The start-up advice, now that Backstage said what it accepts."""
        native = sorted(self.kind_names[k] for k in self.native_kinds())
        converted = sorted(self.kind_names.get(k, k) for k in self.kind_verdicts if k not in self.native_kinds())
        if not converted:
            log.info("backstage: customKinds auto: Backstage accepts every OpenChoreo kind as is", kinds=native)
            return
        reasons = sorted({r for k, r in self.kind_verdicts.items() if r is not None and k not in self.native_kinds()})
        log.warning(
            "backstage: customKinds auto: publishing OpenChoreo kinds Backstage does not accept as Resource "
            "(spec.type openchoreo-<kind>, relations kept as dependsOn/partOf); to keep them as their own kinds "
            "install OpenChoreo's Backstage catalog processors and allow the kinds in catalog.rules. "
            "Backstage needs Resource, Group and Location allowed in catalog.rules",
            as_resource=converted,
            as_is=native,
            backstage_said=reasons[:3],
        )

    async def _announce(
        self, api: CatalogApi, publication: Publication, *, registered: bool, full: bool, log: Any, quick: bool = False
    ) -> bool:
        """Refresh what changed (everything when Backstage holds less than it did); True if told anything."""
        if not registered and not await self._register(api, publication, log):
            self.announced = digests(publication)  # a fresh registration: Backstage reads everything itself
            return True
        if self.held_expected is not None and not full and not quick:
            held = await api.count_from_origin(publication.index_url)
            if held < self.held_expected:
                log.warning(
                    "backstage: Backstage holds fewer of our entities than it did; refreshing every file",
                    held=held,
                    expected=self.held_expected,
                )
                full = True
        files, index_changed = changed_files(None if full else self.announced, publication)
        index = location_ref(publication.index_url)
        refs = [publication.location_entity_ref(path) for path in files]
        if index_changed:
            refs.append(index)
        if refs:
            missing = set(await api.refresh_all(refs, self.settings.refresh_concurrency))
            if index in missing:  # the location is listed but its entity is gone: register it anew
                log.warning("backstage: our index location entity is gone; registering it again")
                if self.registration is not None and self.registration.location_id:
                    await api.unregister(self.registration.location_id)
                self.registration = await api.register(publication.index_url)
            elif missing and not index_changed:  # new files, or files Backstage refused: re-read the index
                await api.refresh(index)
            log.info(
                "backstage: refreshed changed locations",
                files=len(files),
                index=index_changed,
                unknown_to_backstage=len(missing),
            )
        self.announced = digests(publication)
        return bool(refs)

    async def _verify(self, api: CatalogApi, publication: Publication, log: Any) -> Verdict:
        verdict = await verify(api, publication, self.settings.verify_timeout)
        still_pending = self.pending & set(verdict.pending)
        self.pending = set(verdict.pending)
        self.rejected = dict(verdict.rejected)
        for ref in still_pending:
            self.rejected.setdefault(
                ref, "not in Backstage a whole run after it was published, and Backstage gave no reason"
            )
        self.held_expected = await api.count_from_origin(publication.index_url)
        elsewhere = {ref for ref in verdict.foreign if ref.startswith("group:")}
        if elsewhere - self.groups_elsewhere:
            log.info(
                "backstage: owner groups Backstage already has from another source are not published",
                groups=sorted(elsewhere),
            )
        self.groups_elsewhere |= elsewhere
        if self.rejected or verdict.pending:
            log.warning(
                "backstage: not everything published is in Backstage",
                published=verdict.expected,
                in_backstage=verdict.present,
                rejected=len(self.rejected),
                pending=len(verdict.pending),
                seconds=verdict.seconds,
            )
        else:
            log.info(
                "backstage: every published entity is in Backstage", entities=verdict.present, seconds=verdict.seconds
            )
        return verdict

    def _learn_from(self, verdict: Verdict, publication: Publication, log: Any) -> bool:
        """auto: a custom kind Backstage refused (rules or processors) is published as Resource from now on."""
        if self.settings.custom_kinds != "auto":
            return False
        learned = False
        for ref, reason in verdict.rejected.items():
            kind = ref.split(":", 1)[0]
            if kind in self.kind_verdicts and self.kind_verdicts[kind] is None:
                self.kind_verdicts[kind] = self.learned[kind] = reason
                learned = True
            elif ref.startswith("location:") and "not of an allowed kind" in reason:
                for lower in self.kind_verdicts:
                    if f"entity {lower}:" in reason.lower() and self.kind_verdicts[lower] is None:
                        self.kind_verdicts[lower] = self.learned[lower] = reason
                        learned = True
        if learned:
            self._advise(log)
        return learned

    def kind_name(self, lower: str) -> str:
        return BUILTIN_NAMES.get(lower) or self.kind_names.get(lower, lower)

    def _report(self, verdict: Verdict | None) -> OutputReport:
        prepared = self.last_prepared
        problems: list[str] = []
        by_reason: dict[tuple[str, str], list[str]] = {}
        index = location_ref(self.registration.target) if self.registration is not None else None
        for ref, reason in sorted(self.rejected.items()):
            if ref == index:
                problems.append(
                    f"Backstage cannot read our index {self.registration.target if self.registration else ''}: "
                    f"{reason}; fix: {fix_for(reason, 'Location', custom=False)}"
                )
            elif not ref.startswith("location:"):  # a file's own Location: its entities say why
                by_reason.setdefault((ref.split(":", 1)[0], reason), []).append(ref)
        for (kind, reason), refs in sorted(by_reason.items()):
            name = self.kind_name(kind)
            custom = not is_builtin(kind)
            problems.append(
                f"Backstage rejected {len(refs)} {name} entit{'y' if len(refs) == 1 else 'ies'} "
                f"(e.g. {refs[0]}): {reason}; fix: {fix_for(reason, name, custom=custom)}"
            )
        for kind, reason in sorted(self.learned.items()):
            name = self.kind_name(kind)
            problems.append(
                f"Backstage refused {name} as its own kind: {reason}; published as Resource instead; "
                f"fix: {fix_for(reason, name, custom=False)} to keep it as {name}"
            )
        details: dict[str, Any] = {"rejected": {}, "pending": len(self.pending)}
        for ref in self.rejected:
            kind = self.kind_name(ref.split(":", 1)[0])
            details["rejected"][kind] = details["rejected"].get(kind, 0) + 1
        if verdict is not None:
            details.update(published=verdict.expected, in_backstage=verdict.present, verify_seconds=verdict.seconds)
        if prepared is not None:
            # Held back by this daemon's own catalog.rules: a configured choice, warned about, not a refusal.
            details["not_published"] = prepared.problems[:MAX_PROBLEMS]
            details.update(
                as_resource=prepared.converted_kinds,
                owner_groups=len(prepared.owner_groups),
                relations_in_builtin_fields=prepared.relations,
                dangling=prepared.dangling,
            )
        if self.settings.custom_kinds == "auto":
            details["kinds_accepted_as_is"] = sorted(self.kind_names[k] for k in self.native_kinds())
        return OutputReport(tuple(problems[:MAX_PROBLEMS]), details)


def _dangling(entities: list[Entity], ref_map: dict[str, str], forward: Forward | None = None) -> dict[str, int]:
    """Forward relations whose target is not published, counted by relation type.

    ``forward``: the relations :func:`express_relations` walked (sources it did not keep in
    ``entities`` are left out here), else they are walked here.
    """
    published = {entity_ref(e).lower() for e in entities}
    sources: set[str] | None = None  # None: every source is in entities
    if forward is None:
        forward = forward_relations((entity_ref(e), e) for e in entities)
    else:
        sources = {entity_ref(e) for e in entities}
    counts: dict[str, int] = {}
    for source, kind, target in forward:
        if ref_map.get(target, target).lower() not in published and (sources is None or source in sources):
            counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))
