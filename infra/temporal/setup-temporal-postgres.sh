#!/bin/sh
# Creates (or upgrades) Temporal's own databases in its Postgres. Idempotent: `create` ignores an existing
# database, `setup-schema -v 0.0` only initialises the version tables, `update-schema` applies what is missing.
# Runs in temporalio/admin-tools (temporal-sql-tool and the schema files live there), before the server starts.
set -eu

: "${POSTGRES_SEEDS:?}"
: "${POSTGRES_USER:?}"
: "${POSTGRES_PWD:?}"
DB_PORT="${DB_PORT:-5432}"
SCHEMA_ROOT="${TEMPORAL_SCHEMA_ROOT:-/etc/temporal/schema/postgresql/v12}"
export SQL_PASSWORD="$POSTGRES_PWD"

echo "waiting for ${POSTGRES_SEEDS}:${DB_PORT}"
until nc -z "$POSTGRES_SEEDS" "$DB_PORT"; do sleep 1; done

sql() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "$DB_PORT" "$@"; }

for pair in temporal:temporal temporal_visibility:visibility; do
  db="${pair%%:*}"
  dir="${pair##*:}"
  echo "schema: ${db}"
  sql --db "$db" create
  sql --db "$db" setup-schema -v 0.0
  sql --db "$db" update-schema -d "${SCHEMA_ROOT}/${dir}/versioned"
done
echo "Temporal schema is up to date"
