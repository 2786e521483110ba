#!/usr/bin/env bash
# Build backstage-module/ from the working tree and install it into this backend's node_modules, the
# way `npm install <tarball>` would (npm pack, unpacked into node_modules/<name>): its dependencies
# resolve to this backend's own @backstage packages. Idempotent: skipped when the installed copy is
# newer than the last build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
module=../../backstage-module
name=@openchoreo-sync/plugin-catalog-backend-module-openchoreo-sync
dest=node_modules/$name

[[ -d node_modules ]] || { echo "install-module.sh: run install.sh first" >&2; exit 1; }
bash "$module/build.sh"
if [[ -f "$dest/.installed" && ! "$module/dist/.built" -nt "$dest/.installed" ]]; then
  echo "install-module.sh: $name up to date"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$module" && npm pack --silent --pack-destination "$tmp" >/dev/null)
rm -rf "$dest"
mkdir -p "$dest"
tar -xzf "$tmp"/*.tgz -C "$dest" --strip-components=1
touch "$dest/.installed"
echo "install-module.sh: installed $name from the working tree"
