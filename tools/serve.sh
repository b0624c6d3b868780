#!/usr/bin/env bash
# Installs the app and starts it on the embedded default data (http://127.0.0.1:8050).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check -e .
exec custseg serve "$@"
