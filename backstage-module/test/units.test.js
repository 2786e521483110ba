'use strict';
// Config, entity conversion and the processor: pure functions, no network.
const test = require('node:test');
const assert = require('node:assert/strict');
const { ConfigReader } = require('@backstage/config');
const mod = require('../dist');
const { component } = require('./fake-daemon');

test('config: defaults, token, trailing slash', () => {
  const settings = mod.readOpenChoreoSyncConfig(new ConfigReader({ openchoreoSync: { baseUrl: 'http://127.0.0.1:7008/' } }));
  assert.deepEqual(settings, { baseUrl: 'http://127.0.0.1:7008', token: undefined, frequency: 300, timeout: 120, changeFeed: true });
  const full = mod.readOpenChoreoSyncConfig(
    new ConfigReader({ openchoreoSync: { baseUrl: 'https://d', token: 'sekret-token', schedule: { frequency: 30, timeout: 10 }, changeFeed: false } }),
  );
  assert.deepEqual(full, { baseUrl: 'https://d', token: 'sekret-token', frequency: 30, timeout: 10, changeFeed: false });
});

test('config: bad values are named', () => {
  const read = cfg => () => mod.readOpenChoreoSyncConfig(new ConfigReader(cfg));
  assert.throws(read({}), /openchoreoSync.baseUrl is not set/);
  assert.throws(read({ openchoreoSync: { baseUrl: 'not a url' } }), /openchoreoSync.baseUrl is not a URL/);
  assert.throws(read({ openchoreoSync: { baseUrl: 'ftp://x' } }), /must be http\(s\)/);
  assert.throws(read({ openchoreoSync: { baseUrl: 'http://x', schedule: { frequency: 0 } } }), /schedule.frequency must be a whole number/);
  assert.throws(read({ openchoreoSync: { baseUrl: 'http://x', schedule: { timeout: 1.5 } } }), /schedule.timeout must be a whole number/);
});

test('toDeferred: relations travel as an annotation, identity is Backstage\'s, the location key is ours', () => {
  const body = component('a');
  body.metadata.uid = 'u';
  body.metadata.etag = 'e';
  const { entity, locationKey } = mod.toDeferred(body, mod.locationKeyFor('http://d'));
  assert.equal(locationKey, 'openchoreo-sync:http://d');
  assert.equal(entity.relations, undefined);
  assert.equal(entity.metadata.uid, undefined);
  assert.equal(entity.metadata.etag, undefined);
  assert.deepEqual(JSON.parse(entity.metadata.annotations[mod.RELATIONS_ANNOTATION]), [{ type: 'ownedBy', targetRef: 'group:default/team-a' }]);
  assert.equal(entity.metadata.annotations['backstage.io/managed-by-location'], 'openchoreo-sync:http://d');
  assert.equal(entity.metadata.annotations['backstage.io/managed-by-origin-location'], 'openchoreo-sync:http://d');
  assert.deepEqual(body.metadata.uid, 'u'); // the input is not modified
  const kept = mod.toDeferred(
    { ...component('b'), metadata: { name: 'b', annotations: { 'backstage.io/managed-by-location': 'provider:OpenChoreoEntityProvider' } } },
    'k',
  ).entity.metadata.annotations;
  assert.equal(kept['backstage.io/managed-by-location'], 'provider:OpenChoreoEntityProvider');
  assert.equal(kept['backstage.io/managed-by-origin-location'], 'provider:OpenChoreoEntityProvider');
});

function environment(extra = {}) {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Environment',
    metadata: { name: 'development', namespace: 'default', annotations: {} },
    spec: { type: 'development', dataPlaneRef: 'default' },
    ...extra,
  };
}

test('processor: OpenChoreo kinds are valid, built-in kinds are left to Backstage', async () => {
  const processor = new mod.OpenChoreoSyncProcessor();
  assert.equal(await processor.validateEntityKind(environment()), true);
  assert.equal(await processor.validateEntityKind({ ...environment(), kind: 'ClusterDataplane' }), true);
  assert.equal(await processor.validateEntityKind(component('c')), false);
  assert.equal(await processor.validateEntityKind({ ...environment(), kind: 'Banana' }), false);
  const fromProvider = mod.toDeferred({ ...environment(), kind: 'PluginKind' }, 'k').entity;
  assert.equal(await processor.validateEntityKind(fromProvider), true); // a third-party daemon plugin's kind
  await assert.rejects(processor.validateEntityKind(environment({ spec: [] })), /spec must be an object/);
  await assert.rejects(processor.validateEntityKind(environment({ apiVersion: 'nope nope' })), /apiVersion/);
});

test('processor: the daemon\'s relations are emitted from the entity and the carrier annotation goes', async () => {
  const processor = new mod.OpenChoreoSyncProcessor();
  const relations = [
    { type: 'deployedBy', targetRef: 'deploymentpipeline:default/default' },
    { type: 'hostedOn', targetRef: 'dataplane:default/default' },
  ];
  const { entity } = mod.toDeferred({ ...environment(), relations }, 'k');
  const emitted = [];
  const out = await processor.postProcessEntity(entity, { type: 'x', target: 'y' }, r => emitted.push(r));
  assert.deepEqual(
    emitted.map(r => [r.type, r.relation.source, r.relation.type, r.relation.target]),
    [
      ['relation', { kind: 'Environment', namespace: 'default', name: 'development' }, 'deployedBy', { kind: 'deploymentpipeline', namespace: 'default', name: 'default' }],
      ['relation', { kind: 'Environment', namespace: 'default', name: 'development' }, 'hostedOn', { kind: 'dataplane', namespace: 'default', name: 'default' }],
    ],
  );
  assert.equal(out.metadata.annotations[mod.RELATIONS_ANNOTATION], undefined);
  assert.equal(entity.metadata.annotations[mod.RELATIONS_ANNOTATION] !== undefined, true);
  const untouched = environment();
  assert.equal(await processor.postProcessEntity(untouched, {}, () => assert.fail('no relation expected')), untouched);
  const broken = environment({ metadata: { name: 'x', annotations: { [mod.RELATIONS_ANNOTATION]: '{oops' } } });
  await assert.rejects(processor.postProcessEntity(broken, {}, () => {}), /is not JSON/);
  const wrong = environment({ metadata: { name: 'x', annotations: { [mod.RELATIONS_ANNOTATION]: '[{"type":1}]' } } });
  await assert.rejects(processor.postProcessEntity(wrong, {}, () => {}), /list of \{type, targetRef\}/);
});

test('the relation pairs match openchoreo_sync.relations', () => {
  const fs = require('node:fs');
  const path = require('node:path');
  const source = fs.readFileSync(path.join(__dirname, '..', '..', 'core', 'relations.py'), 'utf8');
  const names = Object.fromEntries([...source.matchAll(/^([A-Z_]+) = "([A-Za-z]+)"$/gm)].map(m => [m[1], m[2]]));
  const pairs = [...source.matchAll(/^\s+\(([A-Z_]+), ([A-Z_]+)\),$/gm)].map(m => [names[m[1]], names[m[2]]]);
  assert.ok(pairs.length >= 15);
  assert.deepEqual(mod.RELATION_PAIRS, pairs);
});

test('the default export is a catalog backend module', () => {
  const feature = mod.default;
  assert.equal(feature.$$type, '@backstage/BackendFeature');
});
