"""Fetch and map: drive every family's ``fetch`` concurrently and map collections as they arrive.

Mapping starts as soon as a collection is complete, so raw API pages are released early; a queue
with a small bound applies back-pressure to fetchers when mapping falls behind.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import islice

from .context import SyncContext
from .errors import ResourceSkipped
from .hooks import Implementation
from .model import Collection, CollectionKey, Entity, EntityRef, Resource, entity_ref
from .plugins_manager import LoadedPlugins
from .run_inputs import collection_digest
from .validation import entity_problems

MAX_REPORTED_PROBLEMS = 500

DEFER_LIMIT = 15_000
"""Resources held unmapped at most while a run may still skip its work: beyond it collections are
mapped as they come (the skip is still possible), so the raw data held stays bounded."""


@dataclass
class Build:
    """The result of fetch+map for one run (or one event)."""

    entities: dict[EntityRef, Entity] = field(default_factory=dict)
    origin: dict[EntityRef, CollectionKey] = field(default_factory=dict)
    source: dict[EntityRef, str] = field(default_factory=dict)
    """ref -> source_id of the resource that produced it"""
    collections_ok: dict[str, int] = field(default_factory=dict)
    """collection key -> number of resources"""
    collections_failed: dict[str, str] = field(default_factory=dict)
    collections_incomplete: set[str] = field(default_factory=set)
    """fetched, but some resource of it could not be mapped: what is missing from it is kept"""
    collections_unchanged: set[str] = field(default_factory=set)
    """not read this run on purpose (``Collection.unchanged``): kept as committed, not stale"""
    families_failed: dict[str, str] = field(default_factory=dict)
    empty_roots: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    skipped: int = 0
    resources: int = 0
    fetch_seconds: float = 0.0
    map_seconds: float = 0.0
    digests: dict[str, str | None] = field(default_factory=dict)
    """collection key -> digest of what mapping received (``run_inputs``); fetched collections only"""
    deferred: list[tuple[CollectionKey, Collection]] = field(default_factory=list)
    """fetched collections not mapped yet: each matched the last clean run's digest (see
    :func:`fetch_and_map`); :meth:`map_deferred` maps them when the run cannot skip its work"""
    mapper: Mapper | None = None

    def map_deferred(self) -> None:
        """Map what was held back for a possible skip: the run does its work after all."""
        deferred, self.deferred = self.deferred, []
        if not deferred or self.mapper is None:
            return
        t0 = time.perf_counter()
        for key, collection in deferred:
            self.mapper.map_collection(key, collection, self)
        self.map_seconds += time.perf_counter() - t0

    def report(self, problem: str) -> None:
        self.skipped += 1
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(problem)

    def kind_counts(self) -> dict[str, int]:
        return dict(Counter(str(e["kind"]) for e in self.entities.values()))


def describe_error(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if type(exc).__name__ in text else f"{type(exc).__name__}: {text}"


def _describe(resource: Resource) -> str:
    """``resource.describe()``, or its kind and namespace when the body is too broken to name it."""
    try:
        return resource.describe()
    except Exception:
        where = f"{resource.namespace}/" if resource.namespace else ""
        return f"{resource.kind} {where}<unreadable metadata>"


class Mapper:
    """Maps resources through ``map_resource`` + ``decorate_entity``, then validates each entity."""

    def __init__(self, plugins: LoadedPlugins, ctx: SyncContext) -> None:
        self._map = plugins.runner.first_result("map_resource", ("resource", "ctx"))
        self._decorate = plugins.runner.caller("decorate_entity")
        self._decorates = bool(plugins.each("decorate_entity"))
        self._ctx = ctx
        self._unknown: Counter[str] = Counter()
        self._dropped = 0

    def map_collection(self, key: CollectionKey, collection: Collection, build: Build) -> None:
        build.resources += len(collection.resources)
        dropped, reported = self._dropped, len(build.problems)
        for resource in collection.resources:
            for entity in self.map_one(resource, build):
                ref = entity_ref(entity)
                if ref in build.entities:
                    build.report(
                        f"{_describe(resource)}: produces {ref}, which {build.origin[ref]} already produced; "
                        "duplicate skipped"
                    )
                    continue
                build.entities[ref] = entity
                build.origin[ref] = key
                build.source[ref] = resource.source_id
        if self._dropped > dropped:
            build.collections_incomplete.add(str(key))
        for problem in build.problems[reported:]:
            self._ctx.log.warning("resource skipped", collection=str(key), problem=problem)

    def map_one(self, resource: Resource, build: Build) -> list[Entity]:
        try:
            produced = self._map(resource, self._ctx)
        except ResourceSkipped as exc:  # left out on purpose: reported, its collection stays complete
            build.report(f"{_describe(resource)}: {exc}")
            return []
        except Exception as exc:  # one bad resource is reported and skipped; the run goes on
            self._dropped += 1
            build.report(f"{_describe(resource)}: cannot be mapped: {describe_error(exc)}")
            return []
        if produced is None:
            self._unknown[resource.kind] += 1
            if self._unknown[resource.kind] == 1:
                build.report(f"{_describe(resource)}: no enabled plugin maps kind {resource.kind!r}; skipped")
            else:
                build.skipped += 1
            return []
        kept = []
        for entity in produced:
            if self._decorates:
                try:
                    self._decorate(entity=entity, resource=resource, ctx=self._ctx)
                except Exception as exc:
                    self._dropped += 1
                    build.report(f"{_describe(resource)}: a decorate_entity plugin failed: {describe_error(exc)}")
                    continue
            problems = entity_problems(entity)
            if problems:
                self._dropped += 1
                name = entity.get("metadata", {}).get("name") if isinstance(entity.get("metadata"), dict) else None
                build.report(
                    f"{_describe(resource)} -> {entity.get('kind')} {name!r} is not valid for Backstage: "
                    + "; ".join(problems)
                )
                continue
            kept.append(entity)
        return kept


async def fetch_and_map(
    plugins: LoadedPlugins,
    ctx: SyncContext,
    *,
    families: Iterable[str] | None = None,
    mapper: Mapper | None = None,
    baseline: Mapping[str, str] | None = None,
    digests: bool = True,
    on_mapped: Callable[[list[tuple[EntityRef, Entity]]], Awaitable[None]] | None = None,
) -> Build:
    """Run every enabled family's ``fetch`` concurrently and map what they yield.

    ``mapper`` replaces the plain :class:`Mapper` (``explain`` passes one that records who mapped
    and decorated one entity), so a normal run pays nothing for that bookkeeping.

    Every fetched collection's digest lands in ``build.digests``, unless ``digests`` is False
    (``export`` stores and compares nothing: they were ~5 % of its CPU). With ``baseline`` (the last
    clean run's digests, :mod:`~openchoreo_sync.run_inputs`), a collection whose digest matches
    is held in ``build.deferred`` instead of mapped, while every collection so far matched; the
    first that does not match maps everything held and stops holding.

    ``on_mapped`` is given each collection's new entities as soon as they are mapped (a first
    commit stages their search rows while the fetch goes on: ``store.staging``).
    """
    build = Build()
    mapper = build.mapper = mapper or Mapper(plugins, ctx)
    holding = baseline is not None
    held = 0
    queue: asyncio.Queue[tuple[str, Collection] | None] = asyncio.Queue(maxsize=16)
    wanted = set(families) if families is not None else None
    fetchers = [f for f in plugins.each("fetch") if wanted is None or f.plugin in wanted]
    started = time.perf_counter()

    async def drive(fetcher: Implementation) -> None:
        name = fetcher.plugin
        log = ctx.log.bind(plugin=name)
        try:
            result = fetcher(ctx=ctx)
            if hasattr(result, "__aiter__"):
                async for collection in result:
                    await queue.put((name, collection))
            else:
                if inspect.isawaitable(result):
                    result = await result
                for collection in result or ():
                    await queue.put((name, collection))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the family is failed: its entities are carried forward
            build.families_failed[name] = describe_error(exc)
            log.warning("family fetch failed; keeping its entities from the last good run", error=describe_error(exc))

    async def drive_all() -> None:
        try:
            await asyncio.gather(*(drive(f) for f in fetchers))
        finally:
            await queue.put(None)

    producer = asyncio.create_task(drive_all())
    map_seconds = 0.0
    try:
        while (item := await queue.get()) is not None:
            family, collection = item
            key = CollectionKey(family, collection.name, collection.namespace)
            if holding and (collection.unchanged or collection.error is not None):
                holding = False  # this run cannot skip its work: map what was held while fetching
                build.map_deferred()
            if collection.unchanged:
                build.collections_unchanged.add(str(key))
                continue
            if collection.error is not None:
                build.collections_failed[str(key)] = describe_error(collection.error)
                ctx.log.warning(
                    "collection fetch failed; keeping its entities from the last good run",
                    collection=str(key),
                    error=describe_error(collection.error),
                )
                continue
            name = str(key)
            digest = None
            if digests:
                digest = build.digests[name] = collection_digest(collection)
            build.collections_ok[name] = len(collection.resources)
            if holding and baseline is not None and digest is not None and baseline.get(name) == digest:
                if held + len(collection.resources) <= DEFER_LIMIT:
                    held += len(collection.resources)
                    build.deferred.append((key, collection))
                    if collection.root and not collection.resources:
                        build.empty_roots.add(name)
                    continue
            elif holding:
                holding = False
                build.map_deferred()
            t0 = time.perf_counter()
            before = len(build.entities)
            mapper.map_collection(key, collection, build)
            map_seconds += time.perf_counter() - t0
            if on_mapped is not None and len(build.entities) > before:
                await on_mapped(list(islice(reversed(build.entities.items()), len(build.entities) - before)))
            if collection.root and not collection.resources:
                build.empty_roots.add(str(key))
        await producer
    finally:
        if not producer.done():
            producer.cancel()
            await asyncio.gather(producer, return_exceptions=True)
    build.map_seconds += map_seconds
    build.fetch_seconds = time.perf_counter() - started - build.map_seconds
    return build
