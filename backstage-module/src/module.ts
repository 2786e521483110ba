import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import { readOpenChoreoSyncConfig } from './config';
import { OpenChoreoSyncProcessor } from './processor';
import { OpenChoreoSyncEntityProvider } from './provider';

/**
 * The catalog module: the entity provider and the processor for OpenChoreo's kinds.
 *
 * `backend.add(import('@openchoreo-sync/plugin-catalog-backend-module-openchoreo-sync'))`
 */
export const catalogModuleOpenChoreoSync = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'openchoreo-sync',
  register(env) {
    env.registerInit({
      deps: {
        catalog: catalogProcessingExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        scheduler: coreServices.scheduler,
        lifecycle: coreServices.lifecycle,
      },
      async init({ catalog, config, logger, scheduler, lifecycle }) {
        const settings = readOpenChoreoSyncConfig(config);
        const provider = new OpenChoreoSyncEntityProvider({ config: settings, logger, scheduler });
        catalog.addProcessor(new OpenChoreoSyncProcessor());
        catalog.addEntityProvider(provider);
        lifecycle.addShutdownHook(() => provider.stop());
        logger.info(
          `openchoreo-sync: pulling ${settings.baseUrl} every ${settings.frequency} s` +
            (settings.changeFeed ? ', following its change feed' : ''),
        );
      },
    });
  },
});
