#!/usr/bin/env bash
# Make sure the PostgreSQL server of POSTGRES_URL answers (default postgresql://postgres@127.0.0.1:5432/).
# A local Debian cluster that is stopped gets started; where none is installed and apt-get is
# available (as root), PostgreSQL is installed first. A remote server is only checked.
set -euo pipefail
url=${POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/}
authority=${url#*://}
authority=${authority%%/*}
authority=${authority##*@}
host=${authority%%:*}
port=5432
[[ "$authority" == *:* ]] && port=${authority##*:}
host=${host:-127.0.0.1}

ready() { pg_isready -q -h "$host" -p "$port" 2>/dev/null; }

if ! command -v pg_isready >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing PostgreSQL (Debian package)…"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
fi
ready && exit 0

case "$host" in
  127.0.0.1|localhost|::1) ;;
  *) echo "PostgreSQL at $host:$port does not answer; start it or fix POSTGRES_URL in .env" >&2; exit 1 ;;
esac

if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "starting PostgreSQL $version cluster 'main'…"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
fi
for _ in $(seq 1 30); do ready && exit 0; sleep 1; done
echo "PostgreSQL at $host:$port did not become ready; see README (Requirements)" >&2
exit 1
