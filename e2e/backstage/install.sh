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

echo "install.sh: running npm ci (node $(node --version), npm $(npm --version))"
start=$(date +%s)
npm ci --no-audit --no-fund
end=$(date +%s)
touch "$stamp"  # mark the install as complete and newer than the lock
echo "install.sh: npm ci took $((end - start)) s"
