'use strict';
// A small in-process daemon speaking the /api/sync/v1 contract over real HTTP, for the module's unit
// tests (the e2e test in tests/e2e runs the module against the real daemon).
const http = require('node:http');

function ref(entity) {
  return `${entity.kind.toLowerCase()}:${(entity.metadata.namespace || 'default').toLowerCase()}/${entity.metadata.name.toLowerCase()}`;
}

function component(name, extra = {}) {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'default' },
    spec: { type: 'service', lifecycle: 'production', owner: 'team-a' },
    relations: [{ type: 'ownedBy', targetRef: 'group:default/team-a' }],
    ...extra,
  };
}

class FakeDaemon {
  constructor() {
    this.entities = new Map();
    this.seq = 0;
    this.floor = 0;
    this.log = []; // [seq, ref, op]
    this.snapshotId = null;
    this.lastRun = null;
    this.requests = [];
    this.failWith = null; // an HTTP status every request answers with
    this.token = null;
    this.onPage = null; // called before each snapshot page after the first
    this.waiters = [];
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  async start() {
    await new Promise(resolve => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  async stop() {
    for (const wake of this.waiters.splice(0)) wake();
    this.server.closeAllConnections();
    await new Promise(resolve => this.server.close(resolve));
  }

  /** One commit: upserts and deletes, a new snapshot id and sequence. */
  commit({ upsert = [], remove = [] }) {
    this.seq += 1;
    for (const entity of upsert) {
      this.entities.set(ref(entity), entity);
      this.log.push([this.seq, ref(entity), 'upsert']);
    }
    for (const r of remove) {
      this.entities.delete(r);
      this.log.push([this.seq, r, 'delete']);
    }
    this.snapshotId = `run-${this.seq}`;
    this.lastRun = { runId: this.snapshotId, status: 'ok', trigger: 'schedule', startedAt: '', finishedAt: '' };
    for (const wake of this.waiters.splice(0)) wake();
  }

  send(res, status, body) {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  async handle(req, res) {
    const url = new URL(req.url, this.url);
    this.requests.push(`${url.pathname}${url.search}`);
    if (this.token && req.headers.authorization !== `Bearer ${this.token}`) {
      return this.send(res, 401, { error: { name: 'AuthenticationError', message: 'Missing credentials' } });
    }
    if (this.failWith) {
      return this.send(res, this.failWith, { error: { name: 'Error', message: 'failing on purpose' } });
    }
    const q = url.searchParams;
    const sorted = [...this.entities.keys()].sort();
    if (url.pathname === '/api/sync/v1/status') {
      const unsafe = this.lastRun && ['failed', 'guarded', 'timed_out'].includes(this.lastRun.status);
      return this.send(res, 200, {
        snapshotId: this.snapshotId,
        sequence: this.seq,
        entities: this.entities.size,
        snapshotRun: null,
        lastRun: this.lastRun,
        fullSyncSafe: Boolean(this.snapshotId) && this.entities.size > 0 && !unsafe,
        reason: unsafe ? `the last run was ${this.lastRun.status}` : null,
      });
    }
    if (url.pathname === '/api/sync/v1/snapshot') {
      const after = q.get('after') || '';
      if (after && this.onPage) this.onPage();
      if (q.get('snapshotId') && q.get('snapshotId') !== this.snapshotId) {
        return this.send(res, 409, { error: { name: 'ConflictError', message: 'snapshot moved' } });
      }
      const limit = Number(q.get('limit') || 500);
      const refs = sorted.filter(r => r > after).slice(0, limit);
      return this.send(res, 200, {
        snapshotId: this.snapshotId,
        sequence: this.seq,
        totalItems: this.entities.size,
        items: refs.map(r => this.entities.get(r)),
        nextAfter: refs.length === limit ? refs[refs.length - 1] : null,
      });
    }
    if (url.pathname === '/api/sync/v1/changes') {
      const since = Number(q.get('since'));
      const wait = Number(q.get('wait') || 0);
      if (since === this.seq && wait > 0) {
        await new Promise(resolve => {
          const timer = setTimeout(resolve, Math.min(wait, 2) * 1000);
          this.waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      if (since < this.floor || since > this.seq) {
        return this.send(res, 200, { snapshotId: this.snapshotId, sequence: this.seq, resync: true, reason: 'window', more: false, changes: [] });
      }
      const ops = new Map();
      for (const [seq, r, op] of this.log) if (seq > since) ops.set(r, op);
      const changes = [...ops].map(([r, op]) =>
        op === 'delete' || !this.entities.has(r) ? { op: 'delete', entityRef: r } : { op: 'upsert', entityRef: r, entity: this.entities.get(r) },
      );
      return this.send(res, 200, { snapshotId: this.snapshotId, sequence: this.seq, resync: false, more: false, changes });
    }
    return this.send(res, 404, { error: { name: 'NotFoundError', message: url.pathname } });
  }
}

/** Records what the provider hands to the catalog. */
class RecordingConnection {
  constructor() {
    this.mutations = [];
    this.state = new Map(); // entityRef -> entity, as the catalog would hold it
    this.waiters = [];
  }

  async applyMutation(mutation) {
    this.mutations.push(mutation);
    if (mutation.type === 'full') {
      this.state = new Map(mutation.entities.map(d => [ref(d.entity), d.entity]));
    } else {
      for (const d of mutation.added) this.state.set(ref(d.entity), d.entity);
      for (const r of mutation.removed) this.state.delete(r.entityRef ?? ref(r.entity));
    }
    for (const wake of this.waiters.splice(0)) wake();
  }

  async refresh() {}

  /** Waits (bounded) until `predicate()` holds, re-checking after every mutation. */
  async until(predicate, what, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise(resolve => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

const silentLogger = {
  lines: [],
  child() {
    return this;
  },
  info(message) {
    this.lines.push(['info', message]);
  },
  warn(message) {
    this.lines.push(['warn', message]);
  },
  error(message) {
    this.lines.push(['error', message]);
  },
  debug() {},
};

function logger() {
  return { ...silentLogger, lines: [] };
}

module.exports = { FakeDaemon, RecordingConnection, component, logger, ref };
