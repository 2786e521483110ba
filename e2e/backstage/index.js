'use strict';
// Minimal real Backstage backend for end-to-end tests: the catalog plugin only.
// Plain CommonJS, no build step. Run: node index.js --config app-config.yaml [--config extra.yaml]
const { createBackend } = require('@backstage/backend-defaults');

const backend = createBackend();
backend.add(require('@backstage/plugin-catalog-backend'));
// Logs rejected entities / unreadable locations at info level (otherwise only visible at debug).
backend.add(require('@backstage/plugin-catalog-backend-module-logs'));
// Makes `Template` a known kind.
backend.add(require('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'));
// The openchoreo-sync entity provider from ../../backstage-module (installed by install-module.sh);
// it needs `openchoreoSync.baseUrl` in the config, so it is added only when asked for.
if (process.env.OPENCHOREO_SYNC_MODULE === '1') {
  backend.add(import('@openchoreo-sync/plugin-catalog-backend-module-openchoreo-sync'));
}

backend.start().catch(err => {
  // eslint-disable-next-line no-console
  console.error('Backstage backend failed to start', err);
  process.exit(1);
});
