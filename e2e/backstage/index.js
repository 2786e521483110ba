'use strict';
// Minimal real Backstage backend for end-to-end tests: the catalog plugin only.
// Plain CommonJS, no build step. Run: node index.js --config app-config.yaml [--config extra.yaml]
const { createBackend } = require('@backstage/backend-defaults');

// A test run that is killed (SIGKILL, a CI timeout) never reaches its teardown; without this the
// backend would live on in its own session, holding a port and a share of the CPU. The launcher
// names itself in OPENCHOREO_E2E_PARENT_PID; once that process is gone, this one exits.
const parentPid = Number(process.env.OPENCHOREO_E2E_PARENT_PID || 0);
if (parentPid > 0) {
  setInterval(() => {
    try {
      process.kill(parentPid, 0);
    } catch (err) {
      if (err.code === 'ESRCH') process.exit(0);
    }
  }, 1000).unref();
}

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
