#!/usr/bin/env bash
# `make e2e`: the Meltano -> PostgreSQL end-to-end tests (tests/e2e/).
#   scripts/e2e.sh [PYTEST_ARGS...]
# With TARGET_POSTGRES_HOST (and _PORT, _USER, _PASSWORD, _DATABASE) set, the tests use that
# server. Otherwise this starts a throwaway cluster (scripts/start_postgres.sh; needs the
# PostgreSQL server binaries, e.g. `apt-get install postgresql`) and stops it on exit.
# PYTHON (default .venv/bin/python) runs pytest; MELTANO_BIN points at meltano.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-.venv/bin/python}
if [[ -z "${TARGET_POSTGRES_HOST:-}" ]]; then
    # Under /tmp: when run as root, the cluster runs as the postgres user, who must reach it.
    pgdir=$(mktemp -d "${TMPDIR:-/tmp}/tap-centaur-pg.XXXXXX")
    trap 'scripts/stop_postgres.sh "$pgdir"' EXIT
    eval "$(scripts/start_postgres.sh "$pgdir")"
fi

# The database is there: a skipped e2e test is now a failure (see tests/e2e/conftest.py).
export TAP_CENTAUR_E2E_REQUIRED=1
"$python" -m pytest -m e2e tests/e2e "$@"
