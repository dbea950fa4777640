#!/usr/bin/env bash
# A throwaway S3 gateway for tests: a one-node Ceph cluster (one monitor, one OSD on memstore, so the data
# lives in memory) behind radosgw, entirely under one directory and on 127.0.0.1 only. Nothing outside the
# directory is read or written (no /etc/ceph, no /var/lib/ceph, no systemd); every command gets -c DIR/ceph.conf.
#
#   radosgw.sh install          install the Debian packages where missing (as root), else say what to install
#   radosgw.sh start DIR [PORT] bootstrap and start mon, osd and rgw (S3 on 127.0.0.1:PORT, default 7480),
#                               create an S3 user and write its keys and the endpoint into DIR/env
#   radosgw.sh stop DIR         stop every daemon started for DIR and remove its data (DIR/log is kept)
#   radosgw.sh status DIR       the daemons and whether S3 answers (exit 0 only when all is up)
#
# Exit codes: 0 done, 1 failed (the message names the log to read), 2 usage, 3 packages missing.
# Timeouts (seconds) can be changed through S3GW_MON_TIMEOUT, S3GW_OSD_TIMEOUT and S3GW_RGW_TIMEOUT.
set -euo pipefail

PACKAGES=(radosgw ceph-mon ceph-osd)
COMMANDS=(ceph ceph-authtool monmaptool ceph-mon ceph-osd radosgw radosgw-admin)
DAEMONS=(rgw osd mon) # stop order; started in reverse
RGW_NAME=client.rgw.gw
S3_USER=s3gw-test
PYTHON=/usr/bin/python3 # Debian's, which ceph-common needs too
[ -x "$PYTHON" ] || PYTHON=python3
MON_TIMEOUT=${S3GW_MON_TIMEOUT:-60}
OSD_TIMEOUT=${S3GW_OSD_TIMEOUT:-90}
RGW_TIMEOUT=${S3GW_RGW_TIMEOUT:-120}

say() { echo "radosgw.sh: $*" >&2; }
usage() {
  sed -n '6,10s/^# \{0,1\}//p' "$0" >&2
  exit 2
}

missing_packages() {
  local cmd missing=()
  for cmd in "${COMMANDS[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "missing commands: ${missing[*]}"
  return 1
}

cmd_install() {
  missing_packages 2>/dev/null && { echo "radosgw, ceph-mon and ceph-osd are installed"; return 0; }
  local why=""
  command -v apt-get >/dev/null 2>&1 || why="there is no apt-get here (Debian/Ubuntu packages)"
  [ -n "$why" ] || [ "$(id -u)" -eq 0 ] || why="installing needs root"
  if [ -n "$why" ]; then
    say "Ceph's radosgw is not installed and $why; install it with:"
    say "  sudo apt-get install --no-install-recommends ${PACKAGES[*]}"
    exit 3
  fi
  echo "installing ${PACKAGES[*]} with apt-get (about 60 packages)"
  local started=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >/dev/null \
    || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >/dev/null; } \
    || { say "apt-get install --no-install-recommends ${PACKAGES[*]} failed (its errors are above)"; exit 3; }
  missing_packages || exit 3
  echo "installed in $((SECONDS - started)) s"
}

# --- paths and helpers for one directory -------------------------------------------------------------

set_dir() { # set_dir DIR [create]
  [ -n "${1:-}" ] || usage
  case "$1" in *[[:space:]]*) say "the directory must not contain whitespace: $1"; exit 2 ;; esac
  if [ "${2:-}" = create ]; then
    mkdir -p "$1"
  elif [ ! -d "$1" ]; then
    echo "nothing under $1: no gateway was started there"
    exit "${3:-0}"
  fi
  DIR=$(cd "$1" && pwd -P)
  CONF=$DIR/ceph.conf
  LOG=$DIR/log
  RUN=$DIR/run
  KEYS=$DIR/keyring
}

ceph_() { timeout 60 ceph -c "$CONF" -n client.admin --connect-timeout 20 "$@"; }
rgw_admin() { timeout 60 radosgw-admin -c "$CONF" -n client.admin "$@"; }

pid_of() { # the pid of a daemon started for DIR, if it is still running
  local file=$RUN/$1.pid pid
  [ -s "$file" ] || return 1
  pid=$(<"$file")
  [ -d "/proc/$pid" ] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$CONF" || return 1
  echo "$pid"
}

# Processes whose command line names this directory's ceph.conf: daemons whose pid file is lost, and
# ceph / radosgw-admin clients left hanging. They are this script's, and no one else's.
strays() {
  local proc pid
  for proc in /proc/[0-9]*; do
    pid=${proc#/proc/}
    [ "$pid" = "$$" ] && continue
    tr '\0' ' ' 2>/dev/null <"$proc/cmdline" | grep -qF -- "-c $CONF " && echo "$pid"
  done
  return 0
}

s3_answers() {
  local port=$1
  if command -v curl >/dev/null 2>&1; then
    [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")" = 200 ]
  else
    "$PYTHON" - "$port" <<'EOF' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=5)
EOF
  fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

log_tail() { # the end of a daemon's log, for an error message
  local file
  for file in "$LOG/$1.out" "$LOG/$2.log"; do
    [ -s "$file" ] || continue
    say "--- last lines of $file"
    tail -n 15 "$file" | sed 's/^/    /' >&2
  done
}

fail() {
  say "$*"
  say "logs: $LOG; stopping what was started"
  stop_daemons
  wait 2>/dev/null || true # reap the daemons this shell started
  exit 1
}

# wait_for SECONDS WHAT DAEMON CEPH_NAME COMMAND...: run COMMAND until it succeeds; fail on timeout or
# as soon as the daemon has died.
wait_for() {
  local seconds=$1 what=$2 daemon=$3 name=$4
  shift 4
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ! pid_of "$daemon" >/dev/null; then
      log_tail "$daemon" "$name"
      fail "$daemon exited while waiting for $what"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log_tail "$daemon" "$name"
      fail "timed out after ${seconds} s waiting for $what"
    fi
    sleep 0.5
  done
  echo "  $what: after $((SECONDS + seconds - deadline)) s"
}

launch() { # launch DAEMON COMMAND...: in the foreground of its own session, output to DIR/log/DAEMON.out
  local daemon=$1
  shift
  setsid "$@" -f </dev/null >>"$LOG/$daemon.out" 2>&1 &
  echo $! >"$RUN/$daemon.pid"
}

# --- bootstrap ---------------------------------------------------------------------------------------

write_conf() {
  local fsid=$1 mon_port=$2 port=$3
  cat >"$CONF" <<EOF
# Written by tests/s3_gateway/radosgw.sh: a one-node test cluster, everything under $DIR.
[global]
fsid = $fsid
mon initial members = a
mon host = [v2:127.0.0.1:$mon_port]
public addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
run dir = $RUN
log file = $LOG/\$name.log
log to stderr = false
mon cluster log file = $LOG/cluster.log
crash dir = $DIR/crash
# One OSD: one replica, a crush rule choosing OSDs, few placement groups, no redundancy warnings.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
# Propose map changes at once instead of batching them for a second: radosgw's first start creates and
# tags its pools one map epoch at a time.
paxos propose interval = 0.05
paxos min wait = 0.01

[mon]
mon data = $DIR/mon/\$cluster-\$id
keyring = \$mon_data/keyring
pid file = $RUN/\$name.ceph.pid

[osd]
osd data = $DIR/osd/\$cluster-\$id
keyring = \$osd_data/keyring
pid file = $RUN/\$name.ceph.pid
osd objectstore = memstore
memstore device bytes = 2147483648

[client.admin]
keyring = $KEYS/client.admin.keyring

[$RGW_NAME]
keyring = $KEYS/$RGW_NAME.keyring
pid file = $RUN/\$name.ceph.pid
rgw data = $DIR/rgw
rgw frontends = beast endpoint=127.0.0.1:$port
EOF
}

wipe() { rm -rf "$DIR/mon" "$DIR/osd" "$DIR/rgw" "$RUN" "$KEYS" "$DIR/crash" "$DIR/monmap" "$CONF" "$DIR/env"; }

bootstrap() {
  local port=$1 fsid mon_port osd_uuid osd_id
  fsid=$(cat /proc/sys/kernel/random/uuid)
  mon_port=$(free_port)
  mkdir -p "$DIR/mon" "$DIR/osd" "$DIR/rgw" "$RUN" "$KEYS" "$DIR/crash"
  write_conf "$fsid" "$mon_port" "$port"

  echo "bootstrapping the monitor (127.0.0.1:$mon_port)"
  ceph-authtool --create-keyring "$KEYS/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$KEYS/client.admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$KEYS/mon.keyring" --import-keyring "$KEYS/client.admin.keyring" >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$KEYS/mon.keyring" \
    >>"$LOG/mon.out" 2>&1 || { log_tail mon mon.a; fail "ceph-mon --mkfs failed"; }
  launch mon ceph-mon -c "$CONF" -i a
  wait_for "$MON_TIMEOUT" "the monitor to answer" mon mon.a ceph_ mon stat

  echo "bootstrapping the OSD (memstore)"
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  osd_id=$(ceph_ osd new "$osd_uuid") || fail "ceph osd new failed"
  mkdir -p "$DIR/osd/ceph-$osd_id"
  ceph-osd -c "$CONF" -i "$osd_id" --mkfs --mkkey --no-mon-config --osd-uuid "$osd_uuid" >>"$LOG/osd.out" 2>&1 \
    || { log_tail osd "osd.$osd_id"; fail "ceph-osd --mkfs failed"; }
  ceph_ auth add "osd.$osd_id" osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' \
    -i "$DIR/osd/ceph-$osd_id/keyring" >/dev/null 2>&1 || fail "ceph auth add osd.$osd_id failed"
  launch osd ceph-osd -c "$CONF" -i "$osd_id"
  wait_for "$OSD_TIMEOUT" "the OSD to be up" osd "osd.$osd_id" osd_up

  echo "starting radosgw (127.0.0.1:$port)"
  ceph_ auth get-or-create "$RGW_NAME" mon 'allow rw' osd 'allow rwx' -o "$KEYS/$RGW_NAME.keyring" \
    >/dev/null 2>&1 || fail "ceph auth get-or-create $RGW_NAME failed"
  launch rgw radosgw -c "$CONF" -n "$RGW_NAME"
  wait_for "$RGW_TIMEOUT" "S3 to answer on 127.0.0.1:$port" rgw "$RGW_NAME" s3_answers "$port"
}

osd_up() { ceph_ osd stat -f json | grep -q '"num_up_osds":1'; }

create_user() {
  local port=$1 access secret
  if ! rgw_admin user info --uid="$S3_USER" >/dev/null 2>&1; then
    access=$(od -An -N10 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)
    secret=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
    rgw_admin user create --uid="$S3_USER" --display-name="S3 gateway tests" \
      --access-key="$access" --secret-key="$secret" >>"$LOG/user.out" 2>&1 \
      || { tail -n 5 "$LOG/user.out" >&2; fail "radosgw-admin user create failed"; }
    {
      echo "export AWS_ACCESS_KEY_ID=$access"
      echo "export AWS_SECRET_ACCESS_KEY=$secret"
      echo "export S3_ENDPOINT_URL=http://127.0.0.1:$port"
    } >"$DIR/env.tmp"
    mv "$DIR/env.tmp" "$DIR/env"
  fi
}

cmd_start() {
  set_dir "${1:-}" create
  local port=${2:-7480}
  [[ "$port" =~ ^[0-9]+$ ]] || { say "PORT must be a number, got $port"; exit 2; }
  missing_packages || { say "run: $0 install (as root), or apt-get install --no-install-recommends ${PACKAGES[*]}"; exit 3; }
  mkdir -p "$LOG"
  if all_running && [ -s "$DIR/env" ] && grep -q ":$port\$" "$DIR/env" && s3_answers "$port"; then
    echo "already running under $DIR"
    cat "$DIR/env"
    return 0
  fi
  # Anything half-started or left over is stopped and bootstrapped anew: the data lived in memory.
  stop_daemons
  wipe
  port_in_use "$port" && { say "port $port on 127.0.0.1 is already in use"; exit 1; }
  local started=$SECONDS
  bootstrap "$port"
  create_user "$port"
  echo "S3 gateway up in $((SECONDS - started)) s: http://127.0.0.1:$port (logs in $LOG, env in $DIR/env)"
  cat "$DIR/env"
}

all_running() {
  local daemon
  for daemon in "${DAEMONS[@]}"; do pid_of "$daemon" >/dev/null || return 1; done
}

stop_daemons() {
  local daemon pid pids=() deadline
  for daemon in "${DAEMONS[@]}"; do
    pid=$(pid_of "$daemon") && { kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); }
    rm -f "$RUN/$daemon.pid"
  done
  for pid in $(strays); do
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid")
  done
  [ ${#pids[@]} -eq 0 ] && return 0
  deadline=$((SECONDS + 10))
  while alive "${pids[@]}" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
  for pid in "${pids[@]}" $(strays); do
    alive "$pid" && { say "killing $pid (did not stop on SIGTERM)"; kill -KILL "$pid" 2>/dev/null || true; }
  done
  deadline=$((SECONDS + 5))
  while alive "${pids[@]}" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  return 0
}

alive() { # any of the pids still running (a zombie waiting for its parent counts as gone)
  local pid
  for pid in "$@"; do
    [ -d "/proc/$pid" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && return 0
  done
  return 1
}

cmd_stop() {
  set_dir "${1:-}"
  stop_daemons
  wipe
  echo "stopped; data under $DIR removed (logs kept in $LOG)"
}

cmd_status() {
  set_dir "${1:-}" "" 1
  local daemon pid up=0 port
  for daemon in mon osd rgw; do
    if pid=$(pid_of "$daemon"); then echo "$daemon running (pid $pid)"; else echo "$daemon not running"; up=1; fi
  done
  port=$(sed -n 's/^rgw frontends = .*:\([0-9]*\)$/\1/p' "$CONF" 2>/dev/null || true)
  if [ -n "$port" ] && s3_answers "$port"; then
    echo "S3 answers on http://127.0.0.1:$port"
  else
    echo "S3 does not answer${port:+ on http://127.0.0.1:$port}"
    up=1
  fi
  return $up
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start "${2:-}" "${3:-7480}" ;;
  stop) cmd_stop "${2:-}" ;;
  status) cmd_status "${2:-}" ;;
  *) usage ;;
esac
