#!/usr/bin/env bash
# Debian packages the test suite drives from outside Python: Chromium (the Airflow UI in a real browser),
# docker-compose (renders the compose file without a Docker engine) and Ceph's radosgw with a monitor and an
# OSD (the real S3 gateway of tests/s3_gateway). Installed with apt where missing and allowed (root);
# elsewhere it says what to install, and the tests that need a tool say so when they run.
set -euo pipefail

missing=()
for pair in "chromium:chromium" "docker-compose:docker-compose" "radosgw:radosgw" "ceph-mon:ceph-mon" \
  "ceph-osd:ceph-osd"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair##*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
         apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
else
  echo "warning: install ${missing[*]} (Debian/Ubuntu: sudo apt-get install ${missing[*]})" >&2
fi
