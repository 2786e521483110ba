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

backend.start().catch(err => {
  // eslint-disable-next-line no-console
  console.error('Backstage backend failed to start', err);
  process.exit(1);
});
