#!/bin/sh
# Runs once, when the primary's data directory is first created (docker-entrypoint-initdb.d):
# lets the database role stream WAL to replicas (docker compose --profile replica).
# An existing primary: run it by hand, then reload:
#   docker compose -f docker/compose.yaml exec db sh /docker-entrypoint-initdb.d/allow-replication.sh
#   docker compose -f docker/compose.yaml exec db psql -U searchsite -c 'SELECT pg_reload_conf()'
set -eu
line="host replication ${POSTGRES_USER} all scram-sha-256"
grep -qxF "$line" "$PGDATA/pg_hba.conf" || echo "$line" >> "$PGDATA/pg_hba.conf"
