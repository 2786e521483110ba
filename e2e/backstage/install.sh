#!/usr/bin/env bash
# Install the e2e Backstage backend's node_modules from the committed lock file.
# Idempotent: runs `npm ci` only when node_modules is missing or older than package-lock.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

command -v node >/dev/null || { echo "install.sh: node not found on PATH" >&2; exit 127; }
command -v npm >/dev/null || { echo "install.sh: npm not found on PATH" >&2; exit 127; }

stamp=node_modules/.package-lock.json   # written by npm at the end of a successful install
if [[ -d node_modules && -f "$stamp" && ! package-lock.json -nt "$stamp" ]]; then
  echo "install.sh: node_modules up to date with package-lock.json, nothing to do"
  exit 0
fi

# A finished install is kept once per machine, keyed by the lock file and the Node.js version: a
# clean clone on the same machine (CI) copies it (~10 s) instead of running npm ci again (776
# packages, 2.5-3.5 min here). A copy, not links: nothing a test or install-module.sh writes into
# node_modules reaches the kept one. OPENCHOREO_E2E_CACHE moves it; an empty value turns it off.
cache_root=${OPENCHOREO_E2E_CACHE-${XDG_CACHE_HOME:-$HOME/.cache}/openchoreo-catalog-sync/e2e-backstage}
key=$( (cat package-lock.json; node --version) | sha256sum | cut -c1-16)
kept=$cache_root/$key/node_modules
if [[ -n "$cache_root" && -f "$kept/.package-lock.json" ]]; then
  start=$(date +%s)
  rm -rf node_modules
  cp -a "$kept" node_modules
  touch "$stamp"
  echo "install.sh: node_modules copied from $kept in $(( $(date +%s) - start )) s (the same lock and Node.js)"
  exit 0
fi

echo "install.sh: running npm ci (node $(node --version), npm $(npm --version))"
start=$(date +%s)
npm ci --no-audit --no-fund
end=$(date +%s)
touch "$stamp"  # mark the install as complete and newer than the lock
echo "install.sh: npm ci took $((end - start)) s"

if [[ -n "$cache_root" ]]; then  # best effort: a failed copy leaves no half-kept tree behind
  partial=$cache_root/$key.partial.$$
  [[ -f "$kept/.package-lock.json" ]] || rm -rf "${cache_root:?}/$key"  # an unfinished one from before
  if mkdir -p "$partial" && cp -a node_modules "$partial/node_modules" && mv -T "$partial" "$cache_root/$key" 2>/dev/null; then
    echo "install.sh: kept a copy in $kept"
  fi
  rm -rf "$partial"
fi
