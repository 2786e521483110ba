import { ANNOTATION_LOCATION, ANNOTATION_ORIGIN_LOCATION, type Entity } from '@backstage/catalog-model';
import type { DeferredEntity } from '@backstage/plugin-catalog-node';
import type { DaemonEntity } from './client';

/**
 * Carries the daemon's computed relations through Backstage's processing to our processor.
 *
 * Backstage's policies reject unknown root fields, and a provided entity's `relations` are replaced
 * by what processors emit, so the relations travel as a JSON annotation that
 * {@link OpenChoreoSyncProcessor} turns into emitted relations and removes again.
 */
export const RELATIONS_ANNOTATION = 'openchoreo-sync.io/relations';

/** `locationKey` of every entity this provider owns: no other provider or location can take them over. */
export function locationKeyFor(baseUrl: string): string {
  return `openchoreo-sync:${baseUrl}`;
}

/** A daemon body as Backstage should receive it. */
export function toDeferred(body: DaemonEntity, locationKey: string): DeferredEntity {
  const { relations, ...rest } = body;
  const metadata = { ...rest.metadata };
  delete metadata.uid; // Backstage assigns its own
  delete metadata.etag;
  const annotations: Record<string, string> = { ...(metadata.annotations ?? {}) };
  if (!annotations[ANNOTATION_LOCATION]) {
    annotations[ANNOTATION_LOCATION] = locationKey;
  }
  if (!annotations[ANNOTATION_ORIGIN_LOCATION]) {
    annotations[ANNOTATION_ORIGIN_LOCATION] = annotations[ANNOTATION_LOCATION];
  }
  annotations[RELATIONS_ANNOTATION] = JSON.stringify(
    (relations ?? []).map(relation => ({ type: relation.type, targetRef: relation.targetRef })),
  );
  metadata.annotations = annotations;
  const entity: Entity = { ...rest, metadata };
  return { entity, locationKey };
}
