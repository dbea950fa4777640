#!/usr/bin/env bash
# Debian packages the test suite drives from outside Python: Chromium (the Airflow UI in a real browser), Ceph's
# radosgw with a monitor and an OSD (the real S3 gateway of tests/s3_gateway), and Prometheus with its PostgreSQL
# exporter (tests/monitoring). The Docker engine of tests/stack is tests/stack/engine.sh's.
# Installed with apt where missing and allowed (root); elsewhere it says what to install, and the tests that
# need a tool say so when they run.
set -euo pipefail

missing=()
for pair in "chromium:chromium" "radosgw:radosgw" "ceph-mon:ceph-mon" \
  "ceph-osd:ceph-osd" "prometheus:prometheus" "prometheus-postgres-exporter:prometheus-postgres-exporter"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair##*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
         apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
  # Under systemd the Prometheus packages just installed start their services on :9090 and :9187; the tests
  # and `make metrics` start their own, so stop these and keep them from starting at boot.
  if [ -d /run/systemd/system ]; then
    for package in "${missing[@]}"; do
      [[ "${package}" == prometheus* ]] && { systemctl disable --now "${package}" >/dev/null 2>&1 || true; }
    done
  fi
else
  echo "warning: install ${missing[*]} (Debian/Ubuntu: sudo apt-get install ${missing[*]})" >&2
fi
