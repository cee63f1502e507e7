#!/bin/sh
# One-shot schema setup for Temporal on PostgreSQL (runs in temporalio/admin-tools).
#
# Creates the `temporal` and `temporal_visibility` databases if missing and brings both schemas
# to the version this admin-tools image ships. Every step is idempotent, so the service can run
# on every `docker compose up` and after an image upgrade (upgrade one minor version at a time).
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS (the PostgreSQL host) is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD (read by temporal-sql-tool) is required}"
DB_PORT="${DB_PORT:-5432}"
SCHEMA_ROOT="${SCHEMA_ROOT:-/etc/temporal/schema/postgresql/v12}"

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

echo "Waiting for PostgreSQL at ${POSTGRES_SEEDS}:${DB_PORT}..."
attempt=0
until nc -z -w 5 "$POSTGRES_SEEDS" "$DB_PORT"; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 60 ]; then
    echo "PostgreSQL did not answer after $attempt attempts" >&2
    exit 1
  fi
  sleep 2
done

# setup_database <database> <schema: temporal | visibility>
setup_database() {
  if output=$(sql_tool --db "$1" create 2>&1); then
    echo "== $1: created"
  elif printf '%s\n' "$output" | grep -q "already exists"; then
    echo "== $1: exists"
  else
    printf '%s\n' "$output" >&2
    exit 1
  fi
  echo "== $1: setup-schema (records version 0.0 only on a fresh database)"
  sql_tool --db "$1" setup-schema -v 0.0
  echo "== $1: update-schema to the image's version"
  sql_tool --db "$1" update-schema -d "$SCHEMA_ROOT/$2/versioned"
}

setup_database "${DBNAME:-temporal}" temporal
setup_database "${VISIBILITY_DBNAME:-temporal_visibility}" visibility
echo "Temporal schemas are current."
