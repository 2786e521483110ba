#!/bin/sh
# Make sure the PostgreSQL server the store tests use (127.0.0.1:5432, database "test") is up.
# CI runs this before pytest: the @pytest.mark.postgres tests fail (never skip) without a server.
# Starts the local cluster with pg_ctlcluster when nothing answers, then waits a bounded time.
set -eu

HOST=${PGTEST_HOST:-127.0.0.1}
PORT=${PGTEST_PORT:-5432}
DB=${PGTEST_DB:-test}
WAIT_SECONDS=${PGTEST_WAIT_SECONDS:-30}

ready() { pg_isready -q -h "$HOST" -p "$PORT" -t 1; }

if ! ready; then
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$version" ]; then
        echo "postgres.sh: nothing answers on $HOST:$PORT and no cluster under /etc/postgresql to start" >&2
        exit 1
    fi
    echo "postgres.sh: starting PostgreSQL $version/main" >&2
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    i=0
    until ready; do
        i=$((i + 1))
        if [ "$i" -ge "$WAIT_SECONDS" ]; then
            echo "postgres.sh: PostgreSQL did not answer on $HOST:$PORT within ${WAIT_SECONDS}s" >&2
            exit 1
        fi
        sleep 1
    done
fi

# The database must exist; create it (as the postgres superuser) when it does not.
for user in postgres root; do
    if psql -h "$HOST" -p "$PORT" -U "$user" -d postgres -tAc "SELECT 1" >/dev/null 2>&1; then
        if [ "$(psql -h "$HOST" -p "$PORT" -U "$user" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
            psql -h "$HOST" -p "$PORT" -U "$user" -d postgres -c "CREATE DATABASE \"$DB\"" >/dev/null
        fi
        echo "postgres.sh: PostgreSQL ready on $HOST:$PORT (user $user, database $DB)" >&2
        exit 0
    fi
done
echo "postgres.sh: PostgreSQL answers on $HOST:$PORT but neither user postgres nor root can log in" >&2
exit 1
