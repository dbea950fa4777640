#!/usr/bin/env bash
# Run by the postgres image on the first start of an empty data volume (/docker-entrypoint-initdb.d/):
# applies sql/init/*.sql (roles, the warehouse and airflow databases, schemas, audit tables) in name order.
# Role passwords come from the container's environment; an empty one leaves that role without login.
# Re-apply on an existing volume (the SQL is idempotent):
#   docker compose exec postgres /docker-entrypoint-initdb.d/10-init.sh
# The body runs in a subshell, so its shell options stay put if the entrypoint sources this file.

init_databases() (
    set -euo pipefail
    local init_sql_dir="${INIT_SQL_DIR:-/sql/init}"
    local psql_args=(
        --no-psqlrc
        --username "${POSTGRES_USER:-postgres}"
        --dbname "${POSTGRES_DB:-postgres}"
        -v ON_ERROR_STOP=1
        -v "warehouse_db=${WAREHOUSE_DB:-warehouse}"
        -v "airflow_db=${AIRFLOW_DB:-airflow}"
    )
    if [[ -n "${LOADER_PASSWORD:-}" ]]; then
        psql_args+=(-v "loader_password=${LOADER_PASSWORD}")
    fi
    if [[ -n "${TRANSFORMER_PASSWORD:-}" ]]; then
        psql_args+=(-v "transformer_password=${TRANSFORMER_PASSWORD}")
    fi
    if [[ -n "${BI_READER_PASSWORD:-}" ]]; then
        psql_args+=(-v "bi_reader_password=${BI_READER_PASSWORD}")
    fi

    shopt -s nullglob
    local sql_files=("${init_sql_dir}"/*.sql)
    if ((${#sql_files[@]} == 0)); then
        echo "10-init.sh: no SQL files in ${init_sql_dir} (is sql/init mounted?)" >&2
        return 1
    fi
    local sql_file
    for sql_file in "${sql_files[@]}"; do
        echo "10-init.sh: applying ${sql_file}"
        psql "${psql_args[@]}" --file "${sql_file}"
    done
)

init_databases
