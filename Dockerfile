# openchoreo-catalog-sync: the daemon, its runtime dependencies only, as a non-root user.
#   docker build -t openchoreo-catalog-sync .
#   docker run -p 7007:7007 -v $PWD/app-config.yaml:/app/app-config.yaml:ro openchoreo-catalog-sync
# The working directory is /app, so /app/app-config.yaml (and app-config.local.yaml) is read with no
# --config; in a container it must set openchoreo.server.host: 0.0.0.0 (or APP_CONFIG_openchoreo_server_host).
# Off loopback with events on (the default) it must also set openchoreo.events.token (or server.token).
# The build steps are the ones tests/deploy/test_image_build.py runs in CI (wheel, then install).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY core core
COPY plugins plugins
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
 && python -m pip wheel --no-cache-dir --wheel-dir /wheels /wheels/openchoreo_catalog_sync-*.whl

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN groupadd --gid 10001 sync && useradd --uid 10001 --gid 10001 --home-dir /app --create-home sync
COPY --from=build /wheels /wheels
RUN python -m pip install --no-cache-dir --no-index --find-links /wheels openchoreo-catalog-sync \
 && rm -rf /wheels
USER 10001:10001
WORKDIR /app
EXPOSE 7007
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:7007/healthz', timeout=2)"]
ENTRYPOINT ["openchoreo-sync"]
CMD ["run"]
