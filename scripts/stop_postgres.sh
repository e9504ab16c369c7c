#!/usr/bin/env bash
# Stop a cluster started by scripts/start_postgres.sh DIR and delete DIR.
#   scripts/stop_postgres.sh DIR [--keep]
set -uo pipefail

dir=${1:?usage: stop_postgres.sh DIR [--keep]}
[[ -d "$dir" ]] || exit 0
if [[ -f "$dir/data/postmaster.pid" ]]; then
    bindir=$(cat "$dir/bindir" 2>/dev/null || true)
    pg_ctl=${bindir:+$bindir/}pg_ctl
    run_as=()
    if [[ $(id -u) -eq 0 ]]; then
        run_as=(runuser -u "$(stat -c %U "$dir/data")" --)
    fi
    "${run_as[@]}" "$pg_ctl" --pgdata="$dir/data" --mode=fast --wait --timeout=60 stop \
        >/dev/null 2>&1 || echo "stop_postgres.sh: pg_ctl stop failed (see $dir/server.log)" >&2
fi
if [[ "${2:-}" != "--keep" ]]; then
    rm -rf "$dir"
fi
