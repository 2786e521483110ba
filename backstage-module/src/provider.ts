import type { LoggerService, SchedulerService } from '@backstage/backend-plugin-api';
import type { EntityProvider, EntityProviderConnection } from '@backstage/plugin-catalog-node';
import { type ChangeBatch, DaemonClient } from './client';
import type { OpenChoreoSyncConfig } from './config';
import { locationKeyFor, toDeferred } from './entities';

/** Seconds the daemon holds a change-feed request open when nothing changes. */
export const FEED_WAIT_SECONDS = 20;
/** Longest pause between two attempts to reach a daemon that is down. */
export const MAX_BACKOFF_SECONDS = 30;
/** How often the feed looks again whether a full read has given it a position to follow from. */
const CURSOR_POLL_MS = 500;

/** What a full read did, for the log and for tests. */
export type FullSyncOutcome =
  | { applied: true; snapshotId: string; entities: number; sequence: number }
  | { applied: false; reason: string };

export interface OpenChoreoSyncEntityProviderOptions {
  config: OpenChoreoSyncConfig;
  logger: LoggerService;
  /** Runs the periodic full read; without it the caller calls {@link OpenChoreoSyncEntityProvider.fullSync}. */
  scheduler?: SchedulerService;
  client?: DaemonClient;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}

/**
 * Pulls openchoreo-catalog-sync's catalog into Backstage: a `full` mutation of the daemon's
 * snapshot at start and every `schedule.frequency` seconds, `delta` mutations from its change
 * feed in between.
 *
 * It never makes Backstage lose what it has because of the daemon: a daemon that is down,
 * unready, has no snapshot or an empty one, or answers with errors leaves the last applied state
 * in place. A periodic full read is skipped while the daemon says its last run was failed,
 * guarded or timed out (such runs commit nothing, so there is nothing new to apply). A full
 * snapshot older than what the feed already applied is never applied (no going back in time).
 */
export class OpenChoreoSyncEntityProvider implements EntityProvider {
  static readonly PROVIDER_NAME = 'openchoreo-sync';

  private readonly client: DaemonClient;
  private readonly locationKey: string;
  private readonly stopping = new AbortController();
  private connection?: EntityProviderConnection;
  /** The change-feed sequence of what Backstage has; undefined until a full read was applied. */
  private cursor?: number;
  private appliedOnce = false;
  private applying: Promise<unknown> = Promise.resolve();
  private fullInFlight?: Promise<FullSyncOutcome>;
  private feed?: Promise<void>;
  private lastKept?: string;

  constructor(private readonly options: OpenChoreoSyncEntityProviderOptions) {
    this.client = options.client ?? new DaemonClient(options.config.baseUrl, options.config.token);
    this.locationKey = locationKeyFor(options.config.baseUrl);
  }

  getProviderName(): string {
    return OpenChoreoSyncEntityProvider.PROVIDER_NAME;
  }

  async connect(connection: EntityProviderConnection): Promise<void> {
    this.connection = connection;
    const { config, scheduler } = this.options;
    if (scheduler) {
      await scheduler.scheduleTask({
        id: `${OpenChoreoSyncEntityProvider.PROVIDER_NAME}:full`,
        frequency: { seconds: config.frequency },
        timeout: { seconds: config.timeout },
        scope: 'local', // each replica needs its own full read to know where to follow the feed from
        fn: async () => {
          await this.fullSync();
        },
      });
    }
    if (config.changeFeed) {
      this.feed = this.followChanges();
    }
  }

  /** Stops the feed (and any read in flight); called at Backstage's shutdown. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.feed;
  }

  /** Mutations one at a time, so a full read and a delta never interleave. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.applying.then(fn, fn);
    this.applying = run.catch(() => undefined);
    return run;
  }

  private keep(reason: string): FullSyncOutcome {
    const message = `openchoreo-sync: full read not applied, Backstage keeps its entities: ${reason}`;
    if (reason === this.lastKept) {
      this.options.logger.debug(message); // the same reason again: said already
    } else {
      this.options.logger.warn(message);
    }
    this.lastKept = reason;
    return { applied: false, reason };
  }

  /**
   * One full read and, when it is safe, a `full` mutation. ``forced`` (a first read, or the feed
   * asking for one) applies the stored snapshot even after a failed or guarded run: it is the
   * last good one, and without it the feed has no position to follow from.
   */
  fullSync(forced = false): Promise<FullSyncOutcome> {
    if (!this.fullInFlight) {
      this.fullInFlight = this.readAndApply(forced).finally(() => {
        this.fullInFlight = undefined;
      });
    }
    return this.fullInFlight;
  }

  private async readAndApply(forced: boolean): Promise<FullSyncOutcome> {
    const connection = this.connection;
    if (!connection) {
      return { applied: false, reason: 'not connected to the catalog yet' };
    }
    const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.options.config.timeout * 1000)]);
    try {
      const status = await this.client.status(signal);
      if (!status.snapshotId) {
        return this.keep('the daemon has not committed a snapshot yet');
      }
      if (status.entities === 0) {
        return this.keep('the daemon reports an empty snapshot');
      }
      if (!status.fullSyncSafe && this.appliedOnce && !forced) {
        return this.keep(status.reason ?? 'the daemon says its snapshot is not safe to apply');
      }
      const snapshot = await this.client.snapshot(signal);
      if (snapshot.entities.length === 0) {
        return this.keep('the daemon served an empty snapshot');
      }
      return await this.exclusive(async () => {
        if (this.cursor !== undefined && this.cursor > snapshot.sequence) {
          return this.keep(`snapshot at sequence ${snapshot.sequence} is older than the applied ${this.cursor}`);
        }
        await connection.applyMutation({
          type: 'full',
          entities: snapshot.entities.map(entity => toDeferred(entity, this.locationKey)),
        });
        this.cursor = snapshot.sequence;
        this.appliedOnce = true;
        this.lastKept = undefined;
        this.options.logger.info(
          `openchoreo-sync: applied snapshot ${snapshot.snapshotId} (${snapshot.entities.length} entities, sequence ${snapshot.sequence})`,
        );
        return {
          applied: true,
          snapshotId: snapshot.snapshotId,
          entities: snapshot.entities.length,
          sequence: snapshot.sequence,
        } as const;
      });
    } catch (error) {
      if (this.stopping.signal.aborted) {
        return { applied: false, reason: 'stopping' };
      }
      return this.keep(`cannot read the daemon at ${this.options.config.baseUrl}: ${describe(error)}`);
    }
  }

  /** Applies one feed batch if Backstage is still at the position it was asked from. */
  async applyBatch(since: number, batch: ChangeBatch): Promise<boolean> {
    const connection = this.connection;
    if (!connection) {
      return false;
    }
    return this.exclusive(async () => {
      if (this.cursor !== since) {
        return false; // a full read moved the position meanwhile: this batch is stale
      }
      const added = batch.changes.flatMap(c => (c.op === 'upsert' ? [toDeferred(c.entity, this.locationKey)] : []));
      const removed = batch.changes.flatMap(c =>
        c.op === 'delete' ? [{ entityRef: c.entityRef, locationKey: this.locationKey }] : [],
      );
      if (added.length || removed.length) {
        await connection.applyMutation({ type: 'delta', added, removed });
        this.options.logger.info(
          `openchoreo-sync: applied ${added.length} changed and ${removed.length} removed entities (sequence ${batch.sequence})`,
        );
      }
      this.cursor = batch.sequence;
      return true;
    });
  }

  private async followChanges(): Promise<void> {
    const { logger } = this.options;
    const stop = this.stopping.signal;
    let failures = 0;
    let unpositioned = 0;
    while (!stop.aborted) {
      const since = this.cursor;
      if (since === undefined) {
        // No position yet (the first read failed, or the daemon asked for a resync): read the
        // snapshot now rather than wait a whole schedule.frequency for the scheduled read.
        const outcome = this.fullInFlight ? await this.fullInFlight : await this.fullSync(true);
        if (this.cursor === undefined && !outcome.applied) {
          unpositioned += 1;
          await sleep(Math.min(MAX_BACKOFF_SECONDS, 2 ** Math.min(unpositioned - 1, 5)) * 1000, stop);
        } else {
          unpositioned = 0;
          await sleep(CURSOR_POLL_MS, stop);
        }
        continue;
      }
      try {
        const signal = AbortSignal.any([stop, AbortSignal.timeout((FEED_WAIT_SECONDS + 15) * 1000)]);
        const batch = await this.client.changes(since, FEED_WAIT_SECONDS, signal);
        if (failures) {
          logger.info(`openchoreo-sync: the daemon's change feed is back after ${failures} failed attempts`);
        }
        failures = 0;
        if (batch.resync) {
          logger.info(`openchoreo-sync: the daemon asks for a full read: ${batch.reason ?? 'outside its window'}`);
          await this.exclusive(async () => {
            if (this.cursor === since) {
              this.cursor = undefined; // the daemon's sequence no longer relates to ours
            }
          });
          await this.fullSync(true);
          continue;
        }
        await this.applyBatch(since, batch);
      } catch (error) {
        if (stop.aborted) {
          break;
        }
        failures += 1;
        if (failures === 1 || failures % 20 === 0) {
          logger.warn(
            `openchoreo-sync: change feed unavailable (${describe(error)}); Backstage keeps its entities, retrying`,
          );
        }
        await sleep(Math.min(MAX_BACKOFF_SECONDS, 2 ** Math.min(failures - 1, 5)) * 1000, stop);
      }
    }
  }
}
