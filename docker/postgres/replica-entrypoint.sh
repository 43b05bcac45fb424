#!/bin/sh
# A streaming replica (hot standby) of the "db" service. First start: copy the primary
# with pg_basebackup, which writes the standby settings (-R); every start: run PostgreSQL
# as a read-only standby that replays the primary's WAL as it streams in. The password
# comes from the Docker secret through a pgpass file, never from the environment.
set -eu
: "${PRIMARY_HOST:=db}" "${PRIMARY_PORT:=5432}" "${POSTGRES_USER:=searchsite}"
export PGPASSFILE=/tmp/pgpass
umask 077
# pgpass escapes ':' and '\' in its fields.
password=$(sed 's/[\\:]/\\&/g' /run/secrets/db_password)
printf '%s:%s:*:%s:%s\n' "$PRIMARY_HOST" "$PRIMARY_PORT" "$POSTGRES_USER" "$password" > "$PGPASSFILE"
chown postgres "$PGPASSFILE"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    chown postgres "$PGDATA"
    chmod 700 "$PGDATA"
    gosu postgres pg_basebackup --host "$PRIMARY_HOST" --port "$PRIMARY_PORT" --username "$POSTGRES_USER" \
        --pgdata "$PGDATA" --write-recovery-conf --wal-method stream --checkpoint fast --progress
fi
exec gosu postgres postgres -c hot_standby=on
