import type { Entity } from '@backstage/catalog-model';

/** A run as the daemon reports it in `/status`. */
export interface DaemonRun {
  runId: string;
  status: string;
  trigger: string;
  startedAt: string;
  finishedAt: string | null;
}

/** `GET /api/sync/v1/status`. */
export interface DaemonStatus {
  snapshotId: string | null;
  sequence: number;
  entities: number;
  snapshotRun: DaemonRun | null;
  lastRun: DaemonRun | null;
  fullSyncSafe: boolean;
  reason: string | null;
}

/** Stored entity bodies carry the relations the daemon computed. */
export type DaemonEntity = Entity & { relations?: Array<{ type: string; targetRef: string }> };

/** `GET /api/sync/v1/snapshot`. */
export interface SnapshotPage {
  snapshotId: string | null;
  sequence: number;
  totalItems: number;
  items: DaemonEntity[];
  nextAfter: string | null;
}

/** One entry of the change feed. */
export type Change = { op: 'upsert'; entityRef: string; entity: DaemonEntity } | { op: 'delete'; entityRef: string };

/** `GET /api/sync/v1/changes`. */
export interface ChangeBatch {
  snapshotId: string | null;
  sequence: number;
  resync: boolean;
  reason?: string;
  more: boolean;
  changes: Change[];
}

/** A whole snapshot, read page by page from one committed snapshot. */
export interface Snapshot {
  snapshotId: string;
  sequence: number;
  entities: DaemonEntity[];
}

/** The daemon answered with an error status (its Backstage-shaped body's message is kept). */
export class DaemonHttpError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
    message: string,
  ) {
    super(`${url} answered ${status}: ${message}`);
    this.name = 'DaemonHttpError';
  }
}

/** The snapshot changed under every attempt to read it whole. */
export class SnapshotChurnError extends Error {
  constructor(attempts: number) {
    super(`the daemon committed a new snapshot during each of ${attempts} attempts to read it whole`);
    this.name = 'SnapshotChurnError';
  }
}

export const SYNC_PATH = '/api/sync/v1';
const PAGE_SIZE = 500;
const SNAPSHOT_ATTEMPTS = 3;
const MAX_PAGES = 100_000;

/** HTTP client of the daemon's pull contract (see the embedded catalog plugin's README). */
export class DaemonClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  private async get<T>(path: string, params: Record<string, string>, signal: AbortSignal): Promise<T> {
    const url = `${this.baseUrl}${SYNC_PATH}${path}?${new URLSearchParams(params)}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) {
      headers.authorization = `Bearer ${this.token}`;
    }
    const response = await fetch(url, { headers, signal });
    const text = await response.text();
    if (!response.ok) {
      let message = text.slice(0, 300);
      try {
        message = JSON.parse(text)?.error?.message ?? message;
      } catch {
        // not JSON: keep the text
      }
      throw new DaemonHttpError(response.status, url, message);
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new DaemonHttpError(response.status, url, `not JSON: ${text.slice(0, 120)}`);
    }
  }

  status(signal: AbortSignal): Promise<DaemonStatus> {
    return this.get<DaemonStatus>('/status', {}, signal);
  }

  changes(since: number, waitSeconds: number, signal: AbortSignal): Promise<ChangeBatch> {
    return this.get<ChangeBatch>('/changes', { since: String(since), wait: String(waitSeconds) }, signal);
  }

  /**
   * Every entity of one committed snapshot. Pages after the first name the first page's snapshot;
   * a 409 (a commit landed meanwhile) starts the read again, a bounded number of times.
   */
  async snapshot(signal: AbortSignal, pageSize = PAGE_SIZE): Promise<Snapshot> {
    for (let attempt = 0; attempt < SNAPSHOT_ATTEMPTS; attempt++) {
      const first = await this.get<SnapshotPage>('/snapshot', { limit: String(pageSize) }, signal);
      if (first.snapshotId === null) {
        return { snapshotId: '', sequence: first.sequence, entities: [] };
      }
      const entities = [...first.items];
      let next = first.nextAfter;
      let moved = false;
      for (let pages = 0; next !== null && pages < MAX_PAGES; pages++) {
        try {
          const page = await this.get<SnapshotPage>(
            '/snapshot',
            { after: next, limit: String(pageSize), snapshotId: first.snapshotId },
            signal,
          );
          entities.push(...page.items);
          next = page.nextAfter;
        } catch (error) {
          if (error instanceof DaemonHttpError && error.status === 409) {
            moved = true;
            break;
          }
          throw error;
        }
      }
      if (moved) {
        continue;
      }
      if (entities.length !== first.totalItems) {
        throw new DaemonHttpError(
          200,
          `${this.baseUrl}${SYNC_PATH}/snapshot`,
          `read ${entities.length} entities but the snapshot has ${first.totalItems}`,
        );
      }
      return { snapshotId: first.snapshotId, sequence: first.sequence, entities };
    }
    throw new SnapshotChurnError(SNAPSHOT_ATTEMPTS);
  }
}
