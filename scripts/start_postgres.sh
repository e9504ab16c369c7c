#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster for the end-to-end tests, and print its settings.
#
#   eval "$(scripts/start_postgres.sh DIR)"     # DIR: an empty or missing folder
#   ...                                         # TARGET_POSTGRES_* and PG* are now set
#   scripts/stop_postgres.sh DIR
#
# The cluster lives entirely in DIR (data, Unix socket, log), listens on 127.0.0.1 on a free
# port, and has one superuser with a random password and one database. It needs the server
# binaries (Debian: `apt-get install postgresql`); nothing is installed here. When run as
# root, the cluster runs as the `postgres` user (PostgreSQL refuses to run as root).
# Everything except the final `export` lines goes to stderr.
set -euo pipefail

dir=${1:?usage: start_postgres.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

find_bindir() {
    local candidate
    if [[ -n "${PG_BINDIR:-}" && -x "${PG_BINDIR}/initdb" ]]; then
        echo "$PG_BINDIR"
        return
    fi
    # Debian/Ubuntu keep the server binaries out of PATH: take the newest version.
    candidate=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$candidate" && -x "$candidate/initdb" ]]; then
        echo "$candidate"
        return
    fi
    if command -v pg_config >/dev/null 2>&1; then
        candidate=$(pg_config --bindir)
        if [[ -x "$candidate/initdb" ]]; then
            echo "$candidate"
            return
        fi
    fi
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return
    fi
    echo "start_postgres.sh: no PostgreSQL server binaries found (initdb)." \
        "Install them, e.g. 'apt-get install postgresql', or set PG_BINDIR." >&2
    exit 1
}

bindir=$(find_bindir)
python=$(command -v python3 || command -v python)

# A free TCP port on 127.0.0.1 (the kernel picks it; the tiny race is acceptable here).
port=${PG_PORT:-$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
password=$("$python" -c 'import secrets; print(secrets.token_hex(16))')
user=postgres
database=${PG_DATABASE:-centaur_e2e}

# As root, run the server as an unprivileged OS user.
run_as=()
if [[ $(id -u) -eq 0 ]]; then
    os_user=${PG_OS_USER:-postgres}
    if ! id "$os_user" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$os_user"
    fi
    chown "$os_user" "$dir"
    run_as=(runuser -u "$os_user" --)
fi

if [[ -e "$dir/data/PG_VERSION" ]]; then
    echo "start_postgres.sh: $dir/data already holds a cluster; use an empty folder." >&2
    exit 1
fi

printf '%s\n' "$password" >"$dir/pwfile"
chmod 600 "$dir/pwfile"
if [[ ${#run_as[@]} -gt 0 ]]; then
    chown "$os_user" "$dir/pwfile"
fi

"${run_as[@]}" "$bindir/initdb" --pgdata="$dir/data" --username="$user" \
    --pwfile="$dir/pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
}
rm -f "$dir/pwfile"

"${run_as[@]}" "$bindir/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" --wait \
    --timeout=60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >&2 || {
    cat "$dir/server.log" >&2
    exit 1
}
printf '%s\n' "$bindir" >"$dir/bindir"

PGPASSWORD=$password "$bindir/psql" -h 127.0.0.1 -p "$port" -U "$user" -d postgres \
    -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE $database" >&2

echo "start_postgres.sh: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, database $database, data in $dir/data" >&2

cat <<ENV
export TARGET_POSTGRES_HOST=127.0.0.1
export TARGET_POSTGRES_PORT=$port
export TARGET_POSTGRES_USER=$user
export TARGET_POSTGRES_PASSWORD=$password
export TARGET_POSTGRES_DATABASE=$database
export PGHOST=127.0.0.1
export PGPORT=$port
export PGUSER=$user
export PGPASSWORD=$password
export PGDATABASE=$database
ENV
