#!/usr/bin/env bash
# Build assets/vendor/plotly-partial.min.js: plotly.js with only the trace types the app draws
# (tools/plotly_bundle/index.js), from the exact versions of tools/plotly_bundle/package-lock.json.
# Needs node and npm (and the npm registry) once, when building; the app serves the committed file.
# plotly.js's version must be the one the installed plotly (Python) targets: the script checks it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
OUT=assets/vendor/plotly-partial.min.js

cd tools/plotly_bundle
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
js_version="$(node -p "require('plotly.js/package.json').version")"
cd ../..
py_version="$("$PYTHON" -c 'from plotly.offline import get_plotlyjs_version; print(get_plotlyjs_version())')"
if [[ "$js_version" != "$py_version" ]]; then
    echo "plotly.js $js_version in tools/plotly_bundle, but plotly (Python) targets $py_version:" \
         "set that version in tools/plotly_bundle/package.json, run npm install there, rerun" >&2
    exit 1
fi
node tools/plotly_bundle/build.js "$OUT"
cp tools/plotly_bundle/node_modules/plotly.js/LICENSE assets/vendor/PLOTLY-LICENSE
rm -rf tools/plotly_bundle/node_modules
echo "wrote $OUT ($(wc -c < "$OUT") bytes), plotly.js $js_version"
