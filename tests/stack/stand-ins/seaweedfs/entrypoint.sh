#!/usr/bin/env bash
# The stand-in's entrypoint: `mini -dir=DIR [-s3.port=PORT] [other flags, ignored]` serves S3 on PORT from a
# one-node Ceph cluster kept under DIR/ceph (monitor, one filestore OSD, radosgw on 127.0.0.1:7480) behind nginx.
# The first start bootstraps the cluster; later starts reuse it, so objects survive a restart of the container.
# Any other command runs as given.
set -euo pipefail

if [ "$(id -u)" = 0 ]; then
    [ "$(stat -c %u /data)" = 1000 ] || chown -R seaweed:seaweed /data
    exec setpriv --reuid=seaweed --regid=seaweed --init-groups "$0" "$@"
fi

[ "${1:-}" = mini ] || exec "$@"
shift
DIR=/data
S3_PORT=8333
for arg in "$@"; do
    case "$arg" in
        -dir=* | --dir=*) DIR=${arg#*=} ;;
        -s3.port=* | --s3.port=*) S3_PORT=${arg#*=} ;;
    esac
done
: "${AWS_ACCESS_KEY_ID:?the stand-in serves the admin identity of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY}"
: "${AWS_SECRET_ACCESS_KEY:?the stand-in serves the admin identity of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY}"

CEPH=$DIR/ceph
CONF=$CEPH/ceph.conf
LOG=$CEPH/log
RUN=/tmp/ceph-run
RGW=client.rgw.s3
mkdir -p "$CEPH/mon" "$CEPH/osd" "$CEPH/rgw" "$CEPH/keys" "$LOG" "$RUN"

say() { echo "seaweedfs stand-in: $*"; }
ceph_() { timeout 60 ceph -c "$CONF" -n client.admin --connect-timeout 20 "$@"; }
rgw_admin() { timeout 60 radosgw-admin -c "$CONF" -n client.admin "$@"; }

wait_until() { # wait_until SECONDS WHAT COMMAND...
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            say "timed out waiting for $what; last log lines:"
            tail -n 20 "$LOG"/*.log >&2 || true
            exit 1
        fi
        sleep 0.5
    done
}

write_conf() {
    cat >"$CONF" <<EOF
[global]
fsid = $(cat /proc/sys/kernel/random/uuid)
mon initial members = a
mon host = [v2:127.0.0.1:3300]
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
paxos propose interval = 0.05

[mon]
mon data = $CEPH/mon/\$cluster-\$id
keyring = \$mon_data/keyring

[osd]
osd data = $CEPH/osd/\$cluster-\$id
keyring = \$osd_data/keyring
osd objectstore = filestore
osd journal = $CEPH/osd/\$cluster-\$id/journal
osd journal size = 128
osd max object name len = 256
osd max object namespace len = 64

[client.admin]
keyring = $CEPH/keys/client.admin.keyring

[$RGW]
keyring = $CEPH/keys/$RGW.keyring
rgw data = $CEPH/rgw
rgw frontends = beast endpoint=127.0.0.1:7480
EOF
}

bootstrap() {
    say "first start: creating the cluster under $CEPH"
    write_conf
    local keys=$CEPH/keys fsid osd_uuid
    fsid=$(sed -n 's/^fsid = //p' "$CONF")
    ceph-authtool --create-keyring "$keys/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    ceph-authtool --create-keyring "$keys/client.admin.keyring" --gen-key -n client.admin \
        --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
    ceph-authtool "$keys/mon.keyring" --import-keyring "$keys/client.admin.keyring" >/dev/null
    monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:3300]" "$CEPH/monmap" >/dev/null
    ceph-mon -c "$CONF" --mkfs -i a --monmap "$CEPH/monmap" --keyring "$keys/mon.keyring"
    start_mon
    osd_uuid=$(cat /proc/sys/kernel/random/uuid)
    ceph_ osd new "$osd_uuid" >"$CEPH/osd-id"
    mkdir -p "$CEPH/osd/ceph-$(<"$CEPH/osd-id")"
    ceph-osd -c "$CONF" -i "$(<"$CEPH/osd-id")" --mkfs --mkkey --no-mon-config --osd-uuid "$osd_uuid" \
        >>"$LOG/osd-mkfs.out" 2>&1
    ceph_ auth add "osd.$(<"$CEPH/osd-id")" osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' \
        -i "$CEPH/osd/ceph-$(<"$CEPH/osd-id")/keyring" >/dev/null
    ceph_ auth get-or-create "$RGW" mon 'allow rw' osd 'allow rwx' -o "$keys/$RGW.keyring" >/dev/null
    touch "$CEPH/bootstrapped"
}

PIDS=()
start_mon() {
    ceph-mon -c "$CONF" -i a -f >>"$LOG/mon.out" 2>&1 &
    PIDS+=($!)
    wait_until 60 "the monitor" ceph_ mon stat
}

start_rest() {
    ceph-osd -c "$CONF" -i "$(<"$CEPH/osd-id")" -f >>"$LOG/osd.out" 2>&1 &
    PIDS+=($!)
    wait_until 90 "the OSD" osd_up
    radosgw -c "$CONF" -n "$RGW" -f >>"$LOG/rgw.out" 2>&1 &
    PIDS+=($!)
    wait_until 120 "radosgw" curl -fsS -o /dev/null http://127.0.0.1:7480/
}

osd_up() { ceph_ osd stat -f json | grep -q '"num_up_osds":1'; }

ensure_admin_identity() {
    local uid=admin
    if ! rgw_admin user info --uid="$uid" >/dev/null 2>&1; then
        rgw_admin user create --uid="$uid" --display-name="admin" >/dev/null
    fi
    # The keys are the environment's: drop any others, so that a changed secret replaces the old one.
    local key
    for key in $(rgw_admin user info --uid="$uid" | python3 -c \
        'import json,sys; print(" ".join(k["access_key"] for k in json.load(sys.stdin)["keys"]))'); do
        [ "$key" = "$AWS_ACCESS_KEY_ID" ] || rgw_admin key rm --uid="$uid" --access-key="$key" >/dev/null
    done
    rgw_admin key create --uid="$uid" --access-key="$AWS_ACCESS_KEY_ID" --secret-key="$AWS_SECRET_ACCESS_KEY" \
        >/dev/null
}

stop_all() {
    say "stopping"
    local index
    for ((index = ${#PIDS[@]} - 1; index >= 0; index--)); do
        kill -TERM "${PIDS[index]}" 2>/dev/null || true
        wait "${PIDS[index]}" 2>/dev/null || true
    done
    exit 0
}
trap stop_all TERM INT

if [ -f "$CEPH/bootstrapped" ]; then
    say "reusing the cluster under $CEPH"
    start_mon
else
    rm -rf "${CEPH:?}"/{mon,osd,rgw,keys,monmap,osd-id} && mkdir -p "$CEPH/mon" "$CEPH/osd" "$CEPH/rgw" "$CEPH/keys"
    bootstrap
fi
start_rest
ensure_admin_identity
sed "s/S3_PORT/$S3_PORT/" /etc/seaweedfs-stand-in/nginx.conf >/tmp/nginx.conf
nginx -c /tmp/nginx.conf -g 'daemon off;' &
PIDS+=($!)
say "S3 on :$S3_PORT"
# Serve until a daemon exits (then exit with an error, so that the restart policy applies) or a signal stops it.
wait -n "${PIDS[@]}" || true
say "a daemon exited; stopping the rest"
for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
exit 1
