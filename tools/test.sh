#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine, then runs lint and every test.
# Chromium and its driver come from Debian's packages; Python packages from the committed lock
# (requirements/test.txt). Extra arguments go to pytest, e.g. the quick tier without a browser:
#   bash tools/test.sh -m "not browser and not slow and not spark"
# Without arguments every test runs, the Spark tests in a second pytest process (see the end).
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
if [ "$#" -gt 0 ]; then
  exec "$PY" -m pytest "$@"
fi

# Every test. The Spark tests (tests/spark) spend their time waiting on the JVM (start-up, job
# scheduling, a standalone cluster of three JVMs), not on the CPU: they run in a second pytest
# process beside the rest, which keeps the whole suite within 15 minutes on 2 cores. Their
# report follows the main run's; the command fails if either run fails.
spark_log=$(mktemp)
# At a lower priority: their JVMs took CPU from the browser tests (main run 911 s, not ~750 s).
nice -n 10 "$PY" -m pytest tests/spark -p no:cacheprovider >"$spark_log" 2>&1 &
spark_pid=$!
main_rc=0
"$PY" -m pytest --ignore=tests/spark || main_rc=$?
spark_rc=0
wait "$spark_pid" || spark_rc=$?
echo "---- tests/spark (run beside the rest): ----"
cat "$spark_log"
rm -f "$spark_log"
if [ "$main_rc" -ne 0 ]; then exit "$main_rc"; fi
exit "$spark_rc"
