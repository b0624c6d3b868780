# Sourced by tools/serve.sh, tools/test.sh and tools/lock.sh (never run on its own).
# Picks the Python to use and installs the project from a committed lock when needed:
#   - inside a virtualenv already (activated, or its bin/ first on PATH): that one;
#   - otherwise .venv/ at the repository root, created on first use (git-ignored), since
#     stock Debian refuses `pip install` outside a virtualenv (externally managed environment).
# Expects the caller to have cd'ed to the repository root.

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

python3 - <<'PY' || exit 1
import sys
if sys.version_info < (3, 11):
    sys.exit(f"custseg needs Python >= 3.11; python3 here is {sys.version.split()[0]}. "
             "Install a newer Python (Debian 12 ships 3.11) and run this again.")
PY

if python3 -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; then
  PY=python3
else
  if [ ! -x .venv/bin/python ]; then
    echo "Creating the virtualenv .venv/ ..."
    if ! python3 -m venv .venv 2>/dev/null; then
      # Debian ships venv (ensurepip) separately.
      rm -rf .venv
      apt_install python3-venv
      python3 -m venv .venv
    fi
  fi
  PY="$PWD/.venv/bin/python"
  export VIRTUAL_ENV="$PWD/.venv"
  export PATH="$VIRTUAL_ENV/bin:$PATH"
fi
export PY

# install_locked LOCKFILE: the pinned dependencies of LOCKFILE, then this project (editable,
# no dependencies of its own choosing). Skipped when neither the lock nor pyproject.toml changed
# since the last install into this environment (a stamp inside the environment remembers).
install_locked() {
  local lock="$1" prefix stamp want
  prefix=$("$PY" -c 'import sys; print(sys.prefix)')
  stamp="$prefix/.custseg-$(basename "$lock").stamp"
  want=$(cat "$lock" pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
     && "$PY" -c 'import core, dashapp' 2>/dev/null; then
    return 0
  fi
  echo "Installing the locked dependencies ($lock) ..."
  "$PY" -m pip install -q --disable-pip-version-check -r "$lock"
  "$PY" -m pip install -q --disable-pip-version-check --no-deps -e .
  "$PY" -m pip check >/dev/null || { "$PY" -m pip check; return 1; }
  echo "$want" > "$stamp"
}
