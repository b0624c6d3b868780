#!/usr/bin/env bash
# Installs the app (only when requirements/app.txt or pyproject.toml changed since the last
# install) and starts it on the embedded default data. Extra arguments go to `custseg serve`
# (--port 8060, --host 0.0.0.0, --data FILE, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/_env.sh
install_locked requirements/app.txt
exec "$PY" -m core.cli serve "$@"
