#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine, then runs lint and every test.
# Chromium and its driver come from Debian's packages; Python packages from the committed lock
# (requirements/test.txt). Extra arguments go to pytest, e.g. the quick tier without a browser:
#   bash tools/test.sh -m "not browser and not slow"
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/_env.sh

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "Installing chromium and chromium-driver from Debian's packages ..."
  apt_install chromium chromium-driver
fi

# The tests marked `postgres` start a throwaway PostgreSQL server from Debian's binaries.
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  echo "Installing postgresql from Debian's packages ..."
  apt_install postgresql
fi

# The tests marked `spark` run pyspark, which needs a Java runtime (Spark 4 supports 17 and 21).
if ! command -v java >/dev/null 2>&1; then
  echo "Installing Java 17 (openjdk-17-jre-headless) from Debian's packages ..."
  apt_install openjdk-17-jre-headless
fi

install_locked requirements/test.txt
"$PY" -m ruff check .
"$PY" -m pytest "$@"
