import { type Entity, getCompoundEntityRef, parseEntityRef } from '@backstage/catalog-model';
import {
  type CatalogProcessor,
  type CatalogProcessorEmit,
  type LocationSpec,
  processingResult,
} from '@backstage/plugin-catalog-node';
import { RELATIONS_ANNOTATION } from './entities';

/**
 * OpenChoreo's own kinds as openchoreo-catalog-sync emits them. The relation names they use are
 * those of `openchoreo_sync.relations` (each forward type with its inverse).
 */
export const OPENCHOREO_KINDS: readonly string[] = [
  'Environment',
  'DeploymentPipeline',
  'Dataplane',
  'ClusterDataplane',
  'WorkflowPlane',
  'ClusterWorkflowPlane',
  'ObservabilityPlane',
  'ClusterObservabilityPlane',
  'ComponentType',
  'ClusterComponentType',
  'TraitType',
  'ClusterTraitType',
  'ProjectType',
  'ClusterProjectType',
  'ResourceType',
  'ClusterResourceType',
  'Workflow',
  'ClusterWorkflow',
  'ObservabilityAlertsNotificationChannel',
];

/** The relation pairs of `openchoreo_sync.relations` (forward, inverse). */
export const RELATION_PAIRS: ReadonlyArray<readonly [string, string]> = [
  ['ownedBy', 'ownerOf'],
  ['partOf', 'hasPart'],
  ['providesApi', 'apiProvidedBy'],
  ['consumesApi', 'apiConsumedBy'],
  ['dependsOn', 'dependencyOf'],
  ['parentOf', 'childOf'],
  ['memberOf', 'hasMember'],
  ['deploysTo', 'deployedBy'],
  ['usesPipeline', 'pipelineUsedBy'],
  ['hostedOn', 'hosts'],
  ['observedBy', 'observes'],
  ['buildsOn', 'builds'],
  ['instanceOf', 'hasInstance'],
  ['usesWorkflow', 'workflowUsedBy'],
  ['notifies', 'notifiedBy'],
];

const BUILTIN_KINDS = new Set(
  ['Component', 'API', 'Resource', 'System', 'Domain', 'Group', 'User', 'Location', 'Template'].map(k =>
    k.toLowerCase(),
  ),
);
const KNOWN = new Set(OPENCHOREO_KINDS.map(k => k.toLowerCase()));

/** Thrown for an entity our processor recognises but cannot accept; Backstage logs it for that entity only. */
export class OpenChoreoEntityError extends Error {
  constructor(entity: Entity, problem: string) {
    super(`${entity.kind}:${entity.metadata?.namespace ?? 'default'}/${entity.metadata?.name}: ${problem}`);
    this.name = 'InputError';
  }
}

function relationsOf(entity: Entity): Array<{ type: string; targetRef: string }> | undefined {
  const raw = entity.metadata.annotations?.[RELATIONS_ANNOTATION];
  if (raw === undefined) {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new OpenChoreoEntityError(entity, `annotation ${RELATIONS_ANNOTATION} is not JSON`);
  }
  if (
    !Array.isArray(parsed) ||
    !parsed.every(r => r && typeof r.type === 'string' && r.type && typeof r.targetRef === 'string' && r.targetRef)
  ) {
    throw new OpenChoreoEntityError(entity, `annotation ${RELATIONS_ANNOTATION} is not a list of {type, targetRef}`);
  }
  return parsed;
}

/**
 * Makes OpenChoreo's kinds valid in the catalog and turns the daemon's relations into Backstage's.
 *
 * Without it Backstage rejects every `Environment`, `Dataplane`... entity ("No processor recognized
 * the entity"). Relations: Backstage derives only its own kinds' relations from spec fields; the
 * daemon already computed every relation of every entity (both directions), so each entity from
 * the provider emits its own list and the catalog's graph matches the daemon's.
 */
export class OpenChoreoSyncProcessor implements CatalogProcessor {
  getProcessorName(): string {
    return 'OpenChoreoSyncProcessor';
  }

  async validateEntityKind(entity: Entity): Promise<boolean> {
    const kind = String(entity.kind ?? '').toLowerCase();
    const fromProvider = entity.metadata?.annotations?.[RELATIONS_ANNOTATION] !== undefined;
    if (BUILTIN_KINDS.has(kind) || !(KNOWN.has(kind) || fromProvider)) {
      return false; // Backstage's own processors judge the built-in kinds
    }
    if (typeof entity.apiVersion !== 'string' || !/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(entity.apiVersion)) {
      throw new OpenChoreoEntityError(entity, `apiVersion ${JSON.stringify(entity.apiVersion)} is not of the form group/version`);
    }
    if (entity.spec !== undefined && (typeof entity.spec !== 'object' || entity.spec === null || Array.isArray(entity.spec))) {
      throw new OpenChoreoEntityError(entity, 'spec must be an object');
    }
    return true;
  }

  async postProcessEntity(entity: Entity, _location: LocationSpec, emit: CatalogProcessorEmit): Promise<Entity> {
    const relations = relationsOf(entity);
    if (relations === undefined) {
      return entity;
    }
    const source = getCompoundEntityRef(entity);
    for (const relation of relations) {
      const target = parseEntityRef(relation.targetRef);
      emit(processingResult.relation({ source, type: relation.type, target }));
    }
    const annotations = { ...entity.metadata.annotations };
    delete annotations[RELATIONS_ANNOTATION];
    return { ...entity, metadata: { ...entity.metadata, annotations } };
  }
}
