#!/usr/bin/env bash
# Rebuilds static/vendor/pico-2.1.1.console.min.css from the npm registry's @picocss/pico 2.1.1:
# Sass with the unused modules off (pico.console.scss), then trim.mjs drops selectors that need a
# Pico class, element or role no template writes, and minifies with lightningcss. Installs into a
# temporary folder, never into the repository.
#   frontend/pico/build.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$here/pico.console.scss" "$here/trim.mjs" "$work/"
cd "$work"
npm ci --no-audit --no-fund --silent
npx sass --no-source-map --style=compressed --silence-deprecation=if-function \
  --load-path=node_modules/@picocss/pico/scss pico.console.scss modules.css
out="$repo/static/vendor/pico-2.1.1.console.min.css"
node trim.mjs modules.css "$out" "$repo" "$here/dropped.txt"
echo "wrote $out ($(wc -c <"$out") bytes)"
