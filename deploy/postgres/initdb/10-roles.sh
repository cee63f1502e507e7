#!/bin/sh
# Runs once, when the PostgreSQL volume is initialised (docker-entrypoint-initdb.d):
# a role for Temporal (which creates its own two databases) and a role and database for slaflow.
# No `set -u`: the image's entrypoint sources scripts that are not executable.
set -e

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v temporal_user="${TEMPORAL_DB_USER:-temporal}" \
  -v temporal_password="${TEMPORAL_DB_PASSWORD:?}" \
  -v app_user="${APP_DB_USER:-slaflow}" \
  -v app_password="${APP_DB_PASSWORD:?}" \
  -v app_db="${APP_DB_NAME:-slaflow}" <<'SQL'
CREATE ROLE :"temporal_user" LOGIN CREATEDB PASSWORD :'temporal_password';
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password';
CREATE DATABASE :"app_db" OWNER :"app_user";
SQL
