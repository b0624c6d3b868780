#!/usr/bin/env bash
# Proves the package installs and runs outside the checkout (CI runs it after the tests):
# builds the wheel, installs it with requirements/app.txt into a throwaway virtualenv, starts
# `custseg serve` from an empty directory and checks every page, every linked CSS/JS file and,
# in headless Chromium, the default data's charts (tools/smoke_check.py).
# Set SMOKE_SCREENSHOT=path.png to keep a screenshot of the Segments page.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
source tools/_env.sh  # $PY: the test environment, which has selenium for the browser check

work=$(mktemp -d)
server=""
cleanup() {
  # The stopped server's status (143, SIGTERM) must not become the script's: errexit holds
  # inside this trap too.
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "smoke: building the wheel ..."
rm -rf build  # setuptools reuses build/lib, so files deleted from the tree would ship again
"$PY" -m pip wheel -q --disable-pip-version-check --no-deps -w "$work/dist" . 2>&1 \
  | grep -v "^WARNING: Location" || true
wheel=$(ls "$work"/dist/custseg-*.whl)
echo "smoke: installing $(basename "$wheel") into a new virtualenv ..."
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check -r requirements/app.txt \
  "$wheel" 2>&1 | grep -v "^WARNING: Location" || true
"$work/venv/bin/python" -m pip check

mkdir "$work/empty"
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "smoke: custseg serve --port $port, from an empty directory ..."
(cd "$work/empty" && CUSTSEG_CACHE_DIR="$work/cache" exec "$work/venv/bin/custseg" serve \
  --port "$port") >"$work/serve.log" 2>&1 &
server=$!
shot=()
[ -n "${SMOKE_SCREENSHOT:-}" ] && shot=(--screenshot "$SMOKE_SCREENSHOT")
if ! "$PY" tools/smoke_check.py --url "http://127.0.0.1:$port" --pid "$server" "${shot[@]}"; then
  echo "--- server log ---"
  cat "$work/serve.log"
  exit 1
fi
