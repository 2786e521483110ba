#!/usr/bin/env bash
# Install the module's dev dependencies from the committed lock and build dist/ with tsc.
# Idempotent: `npm ci` only when node_modules is missing or older than package-lock.json, `tsc` only
# when a source, tsconfig.json or the lock is newer than the last build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

command -v node >/dev/null || { echo "build.sh: node not found on PATH" >&2; exit 127; }
command -v npm >/dev/null || { echo "build.sh: npm not found on PATH" >&2; exit 127; }

stamp=node_modules/.package-lock.json   # written by npm at the end of a successful install
if [[ -d node_modules && -f "$stamp" && ! package-lock.json -nt "$stamp" ]]; then
  echo "build.sh: node_modules up to date with package-lock.json"
else
  echo "build.sh: running npm ci (node $(node --version), npm $(npm --version))"
  npm ci --no-audit --no-fund
  touch "$stamp"
fi

built=dist/.built
if [[ -f "$built" ]] && [[ -z "$(find src tsconfig.json package.json package-lock.json -newer "$built" -print -quit)" ]]; then
  echo "build.sh: dist/ up to date"
  exit 0
fi
start=$(date +%s)
rm -rf dist
npm run --silent build
touch "$built"
echo "build.sh: tsc took $(( $(date +%s) - start )) s"
