'use strict';
// The entity provider against a daemon over real HTTP (a small fake of the /api/sync/v1 contract).
const test = require('node:test');
const assert = require('node:assert/strict');
const mod = require('../dist');
const { FakeDaemon, RecordingConnection, component, logger } = require('./fake-daemon');

async function setup(t, { changeFeed = false, token, scheduler, before } = {}) {
  const daemon = await new FakeDaemon().start();
  if (before) before(daemon);
  const log = logger();
  const provider = new mod.OpenChoreoSyncEntityProvider({
    config: { baseUrl: daemon.url, token, frequency: 300, timeout: 10, changeFeed },
    logger: log,
    scheduler,
  });
  const connection = new RecordingConnection();
  t.after(async () => {
    await provider.stop();
    await daemon.stop();
  });
  await provider.connect(connection);
  return { daemon, provider, connection, log };
}

test('a full read applies the whole snapshot with our location key', async t => {
  const { daemon, provider, connection } = await setup(t, { token: 'daemon-token' });
  daemon.token = 'daemon-token';
  daemon.commit({ upsert: [component('a'), component('b'), component('c')] });
  const outcome = await provider.fullSync();
  assert.deepEqual(outcome, { applied: true, snapshotId: 'run-1', entities: 3, sequence: 1 });
  assert.equal(connection.mutations.length, 1);
  const [full] = connection.mutations;
  assert.equal(full.type, 'full');
  assert.deepEqual(full.entities.map(d => d.locationKey), Array(3).fill(`openchoreo-sync:${daemon.url}`));
  assert.deepEqual([...connection.state.keys()].sort(), ['component:default/a', 'component:default/b', 'component:default/c']);
});

test('a commit in the middle of a paged read starts the read again: never a mix of two snapshots', async t => {
  const { daemon, provider, connection } = await setup(t);
  daemon.commit({ upsert: Array.from({ length: 1200 }, (_, i) => component(`c${String(i).padStart(4, '0')}`)) });
  let moved = false;
  daemon.onPage = () => {
    if (!moved) {
      moved = true;
      daemon.commit({ upsert: [component('zzz-new')], remove: ['component:default/c0000'] });
    }
  };
  const outcome = await provider.fullSync();
  assert.equal(outcome.applied, true);
  assert.equal(outcome.snapshotId, 'run-2');
  const refs = connection.mutations[0].entities.map(d => `${d.entity.metadata.name}`);
  assert.equal(refs.length, 1200);
  assert.ok(refs.includes('zzz-new') && !refs.includes('c0000'));
  assert.equal(daemon.requests.filter(r => r.startsWith('/api/sync/v1/snapshot') && !r.includes('after=')).length, 2);
});

test('no snapshot, an empty one, a daemon that is down or failing: nothing is applied', async t => {
  const { daemon, provider, connection, log } = await setup(t);
  assert.equal((await provider.fullSync()).applied, false); // nothing committed yet
  daemon.commit({ upsert: [component('a')] });
  daemon.commit({ remove: ['component:default/a'] }); // an empty snapshot
  const empty = await provider.fullSync();
  assert.match(empty.reason, /empty snapshot/);
  daemon.failWith = 503;
  assert.match((await provider.fullSync()).reason, /503/);
  daemon.failWith = null;
  daemon.token = 'needed';
  assert.match((await provider.fullSync()).reason, /401: Missing credentials/);
  await daemon.stop();
  assert.match((await provider.fullSync()).reason, /cannot read the daemon/);
  assert.equal(connection.mutations.length, 0);
  assert.ok(log.lines.every(([level]) => level === 'warn'));
});

test('after a guarded or failed run the periodic read keeps what was applied; a forced one restores', async t => {
  const { daemon, provider, connection } = await setup(t);
  daemon.commit({ upsert: [component('a'), component('b')] });
  assert.equal((await provider.fullSync()).applied, true);
  daemon.lastRun = { runId: 'run-x', status: 'guarded', trigger: 'schedule', startedAt: '', finishedAt: '' };
  const kept = await provider.fullSync();
  assert.equal(kept.applied, false);
  assert.match(kept.reason, /guarded/);
  assert.equal(connection.mutations.length, 1);
  assert.equal((await provider.fullSync(true)).applied, true); // the stored snapshot is the last good one
});

test('the change feed brings adds, changes and deletes as delta mutations', async t => {
  const { daemon, connection } = await setup(t, { changeFeed: true });
  daemon.commit({ upsert: [component('a'), component('b')] });
  await connection.until(() => connection.state.size === 2, 'the first full read (started by the feed)');
  daemon.commit({ upsert: [component('c'), component('a', { spec: { type: 'website', owner: 'x', lifecycle: 'l' } })], remove: ['component:default/b'] });
  await connection.until(() => connection.state.has('component:default/c'), 'the delta');
  const delta = connection.mutations.at(-1);
  assert.equal(delta.type, 'delta');
  assert.deepEqual(delta.removed, [{ entityRef: 'component:default/b', locationKey: `openchoreo-sync:${daemon.url}` }]);
  assert.deepEqual(delta.added.map(d => d.entity.metadata.name).sort(), ['a', 'c']);
  assert.equal(connection.state.get('component:default/a').spec.type, 'website');
  assert.equal(connection.mutations.filter(m => m.type === 'full').length, 1);
});

test('a feed position outside the daemon\'s window gets a full read', async t => {
  const { daemon, connection } = await setup(t, { changeFeed: true });
  daemon.commit({ upsert: [component('a')] });
  await connection.until(() => connection.state.size === 1, 'the first full read');
  daemon.floor = 5;
  daemon.seq = 5;
  daemon.commit({ upsert: [component('late')], remove: ['component:default/a'] });
  await connection.until(() => connection.state.has('component:default/late'), 'a full read after resync');
  assert.deepEqual(connection.mutations.map(m => m.type), ['full', 'full']);
  assert.deepEqual([...connection.state.keys()], ['component:default/late']);
});

test('a daemon that goes away: the feed retries, keeps everything, and catches up when it is back', async t => {
  const { daemon, connection, log } = await setup(t, { changeFeed: true });
  daemon.commit({ upsert: [component('a'), component('b')] });
  await connection.until(() => connection.state.size === 2, 'the first full read');
  daemon.failWith = 500;
  await connection.until(() => log.lines.some(([, m]) => /change feed unavailable/.test(m)), 'the feed noticing');
  daemon.commit({ remove: ['component:default/b'] });
  assert.equal(connection.state.size, 2);
  daemon.failWith = null;
  await connection.until(() => !connection.state.has('component:default/b'), 'catching up', 15000);
  assert.deepEqual(connection.mutations.map(m => m.type), ['full', 'delta']);
});

test('a snapshot older than what the feed applied is not applied', async t => {
  const { daemon, provider, connection } = await setup(t);
  daemon.commit({ upsert: [component('a')] });
  await provider.fullSync();
  await provider.applyBatch(1, { sequence: 7, resync: false, more: false, changes: [] });
  const outcome = await provider.fullSync();
  assert.match(outcome.reason, /older than the applied 7/);
  assert.equal(connection.mutations.length, 1);
  assert.equal(await provider.applyBatch(3, { sequence: 9, resync: false, more: false, changes: [] }), false); // stale batch
});

test('a daemon down when Backstage starts: the feed reads the snapshot as soon as it is up, not a frequency later', async t => {
  const tasks = [];
  const scheduler = { scheduleTask: async task => tasks.push(task) }; // the scheduled read never comes in time
  const { daemon, connection, log } = await setup(t, { changeFeed: true, scheduler, before: d => (d.failWith = 503) });
  assert.deepEqual(tasks.map(task => [task.id, task.frequency, task.scope]), [['openchoreo-sync:full', { seconds: 300 }, 'local']]);
  await connection.until(() => log.lines.some(([, m]) => /503/.test(m)), 'a failed first read');
  daemon.failWith = null;
  daemon.commit({ upsert: [component('a')] });
  await connection.until(() => connection.state.size === 1, 'the read once the daemon is up', 15000);
  assert.equal(log.lines.filter(([level, m]) => level === 'warn' && /503/.test(m)).length, 1); // said once, not per retry
});
