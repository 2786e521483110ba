/** Configuration of @openchoreo-sync/plugin-catalog-backend-module-openchoreo-sync. */
export interface Config {
  openchoreoSync?: {
    /** The daemon's URL, for example http://openchoreo-sync:7007 (the daemon's HTTP server). */
    baseUrl: string;
    /**
     * The daemon's server token (openchoreo.server.token), sent as a bearer token.
     * @visibility secret
     */
    token?: string;
    schedule?: {
      /** Seconds between two full reads of the daemon's snapshot. Default 300. */
      frequency?: number;
      /** Seconds one full read may take before it is abandoned (the catalog is left as it was). Default 120. */
      timeout?: number;
    };
    /** Follow the daemon's change feed between full reads (deletions and additions within seconds). Default true. */
    changeFeed?: boolean;
  };
}
