/**
 * Backstage catalog backend module for openchoreo-catalog-sync: an entity provider that pulls the
 * daemon's snapshot and change feed, and a processor for OpenChoreo's custom kinds.
 *
 * @packageDocumentation
 */
export { catalogModuleOpenChoreoSync as default } from './module';
export { DaemonClient, DaemonHttpError, SnapshotChurnError, SYNC_PATH } from './client';
export type { Change, ChangeBatch, DaemonEntity, DaemonRun, DaemonStatus, Snapshot, SnapshotPage } from './client';
export { readOpenChoreoSyncConfig, OpenChoreoSyncConfigError, DEFAULT_FREQUENCY, DEFAULT_TIMEOUT } from './config';
export type { OpenChoreoSyncConfig } from './config';
export { RELATIONS_ANNOTATION, locationKeyFor, toDeferred } from './entities';
export { OpenChoreoSyncProcessor, OPENCHOREO_KINDS, RELATION_PAIRS } from './processor';
export { OpenChoreoSyncEntityProvider, FEED_WAIT_SECONDS } from './provider';
export type { FullSyncOutcome, OpenChoreoSyncEntityProviderOptions } from './provider';
