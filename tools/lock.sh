#!/usr/bin/env bash
# Refreshes the dependency locks from pyproject.toml: the newest versions that fit its bounds,
# exact pins for CPython >= 3.11 (markers where versions differ by Python or platform).
#   requirements/test.txt  runtime + test + bench + spark extras (tools/test.sh, CI)
#   requirements/app.txt   runtime only (tools/serve.sh), constrained to the same versions
# Then run `bash tools/test.sh` and commit both files with what the refresh needed.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/_env.sh
"$PY" -m pip install -q --disable-pip-version-check "uv>=0.5"
compile() {
  "$PY" -m uv pip compile pyproject.toml --universal --python-version 3.11 --upgrade \
    --custom-compile-command "bash tools/lock.sh" --quiet "$@"
}
compile --extra test --extra bench --extra spark -o requirements/test.txt
compile -c requirements/test.txt -o requirements/app.txt
echo "Locks written: requirements/test.txt, requirements/app.txt"
