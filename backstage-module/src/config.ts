import type { RootConfigService } from '@backstage/backend-plugin-api';

/** The module's settings, read from `openchoreoSync` in app-config. */
export interface OpenChoreoSyncConfig {
  /** The daemon's URL without a trailing slash. */
  baseUrl: string;
  token?: string;
  /** Seconds between full reads of the snapshot. */
  frequency: number;
  /** Seconds a full read may take. */
  timeout: number;
  /** Whether to follow the change feed between full reads. */
  changeFeed: boolean;
}

export const DEFAULT_FREQUENCY = 300;
export const DEFAULT_TIMEOUT = 120;

/** Thrown for a bad `openchoreoSync` block; the message names the key. */
export class OpenChoreoSyncConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OpenChoreoSyncConfigError';
  }
}

function positiveSeconds(value: number | undefined, key: string, fallback: number): number {
  if (value === undefined) {
    return fallback;
  }
  if (!Number.isInteger(value) || value <= 0) {
    throw new OpenChoreoSyncConfigError(
      `openchoreoSync.${key} must be a whole number of seconds greater than zero, got ${value}`,
    );
  }
  return value;
}

/**
 * Reads and checks `openchoreoSync`. Fails at start-up (not at the first sync) so a typo in the URL
 * or the schedule is seen when Backstage starts.
 */
export function readOpenChoreoSyncConfig(config: RootConfigService): OpenChoreoSyncConfig {
  const block = config.getOptionalConfig('openchoreoSync');
  if (!block) {
    throw new OpenChoreoSyncConfigError(
      'openchoreoSync.baseUrl is not set: the module needs the URL of the openchoreo-sync daemon',
    );
  }
  const raw = block.getString('baseUrl');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OpenChoreoSyncConfigError(`openchoreoSync.baseUrl is not a URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OpenChoreoSyncConfigError(`openchoreoSync.baseUrl must be http(s), got ${url.protocol}`);
  }
  const token = block.getOptionalString('token');
  return {
    baseUrl: raw.replace(/\/+$/, ''),
    token: token ? token : undefined,
    frequency: positiveSeconds(block.getOptionalNumber('schedule.frequency'), 'schedule.frequency', DEFAULT_FREQUENCY),
    timeout: positiveSeconds(block.getOptionalNumber('schedule.timeout'), 'schedule.timeout', DEFAULT_TIMEOUT),
    changeFeed: block.getOptionalBoolean('changeFeed') ?? true,
  };
}
