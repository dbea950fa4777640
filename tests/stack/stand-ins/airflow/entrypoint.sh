#!/usr/bin/env bash
# The stand-in's /entrypoint: the behaviour of the official image's entrypoint that stacks rely on.
#   - waits for the metadata database (`airflow db check`) unless CONNECTION_CHECK_MAX_COUNT=0;
#   - migrates it first when _AIRFLOW_DB_MIGRATE is set, installs _PIP_ADDITIONAL_REQUIREMENTS;
#   - `bash ...` and `python ...` run as given; `airflow ...` and any other first word run as airflow subcommands.
set -euo pipefail
umask 0002

AIRFLOW_COMMAND="${1:-}"

wait_for_airflow_db() {
    local max_count="${CONNECTION_CHECK_MAX_COUNT:-20}" sleep_time="${CONNECTION_CHECK_SLEEP_TIME:-3}" count=0
    [ "$max_count" -gt 0 ] || return 0
    echo "Waiting for the metadata database (at most ${max_count} checks)"
    until airflow db check >/dev/null 2>&1; do
        count=$((count + 1))
        if [ "$count" -ge "$max_count" ]; then
            echo "The metadata database did not answer after ${max_count} checks" >&2
            airflow db check
            exit 1
        fi
        sleep "$sleep_time"
    done
}

wait_for_airflow_db
if [ -n "${_AIRFLOW_DB_MIGRATE:-}" ] || [ -n "${_AIRFLOW_DB_UPGRADE:-}" ]; then
    airflow db migrate
fi
if [ -n "${_PIP_ADDITIONAL_REQUIREMENTS:-}" ]; then
    # shellcheck disable=SC2086
    pip install --no-cache-dir ${_PIP_ADDITIONAL_REQUIREMENTS}
fi

case "$AIRFLOW_COMMAND" in
    bash) shift; exec /bin/bash "$@" ;;
    python) shift; exec python "$@" ;;
    airflow) shift ;;
esac
exec airflow "$@"
