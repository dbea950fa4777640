#!/usr/bin/env bash
# A Docker engine for the stack tier: the one already running, or Debian's (docker.io) started here.
#
#   engine.sh ensure DIR   exit 0 when `docker info` answers; otherwise install docker.io (as root, with apt) and
#                          start dockerd in the background with its state under DIR (pid and log there), then
#                          wait for it. Prints "started" when it started one, "running" when one was there.
#   engine.sh stop DIR     stop the dockerd that `ensure DIR` started (nothing else), leaving no process behind.
#
# Exit codes: 0 ready, 1 failed (the message names the log), 3 no engine here and none can be installed (the
# message gives the install command).
set -euo pipefail

PACKAGES=(docker.io iptables mmdebstrap)
say() { echo "engine.sh: $*" >&2; }

engine_answers() { timeout 20 docker info >/dev/null 2>&1; }

install_packages() {
    local missing=() package
    command -v dockerd >/dev/null 2>&1 || missing+=(docker.io iptables)
    command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        say "no Docker engine answers and none can be installed here (needs root and apt); install one:"
        say "  sudo apt-get install --no-install-recommends ${PACKAGES[*]}   (or Docker Engine / Docker Desktop)"
        exit 3
    fi
    echo "installing ${missing[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
        || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; } \
        || { say "apt-get install ${missing[*]} failed"; exit 3; }
}

# Containers inherit dockerd's open-file limit unless the daemon sets one; keep it within the hard limit this
# machine allows (raising a limit above it fails every container start).
write_daemon_config() {
    local config=$1 hard
    hard=$(ulimit -Hn)
    [ "$hard" = unlimited ] && hard=1048576
    cat >"$config" <<EOF
{"default-ulimits": {"nofile": {"Name": "nofile", "Soft": $hard, "Hard": $hard}}}
EOF
}

cmd_ensure() {
    local dir=$1
    if command -v docker >/dev/null 2>&1 && engine_answers; then
        command -v mmdebstrap >/dev/null 2>&1 || install_packages
        echo running
        return 0
    fi
    install_packages
    command -v docker >/dev/null 2>&1 || { say "dockerd is installed but the docker CLI is not"; exit 3; }
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd -P)
    write_daemon_config "$dir/daemon.json"
    setsid dockerd --config-file "$dir/daemon.json" --pidfile "$dir/dockerd.pid" </dev/null >>"$dir/dockerd.log" 2>&1 &
    local deadline=$((SECONDS + 60))
    until engine_answers; do
        if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 $! 2>/dev/null; then
            say "dockerd did not start; the end of $dir/dockerd.log:"
            tail -n 20 "$dir/dockerd.log" >&2
            exit 1
        fi
        sleep 0.5
    done
    echo started
}

cmd_stop() {
    local dir=$1 pid
    [ -s "$dir/dockerd.pid" ] || return 0
    pid=$(<"$dir/dockerd.pid")
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    # containerd is dockerd's child in its own session: stop whatever is left of that session.
    pkill -TERM -s "$pid" 2>/dev/null || true
    rm -f "$dir/dockerd.pid"
    # The default bridge it made (the NAT rules stay, inert without the bridge).
    if ip link show docker0 >/dev/null 2>&1; then ip link delete docker0 2>/dev/null || true; fi
}

case "${1:-}" in
    ensure) cmd_ensure "${2:?usage: engine.sh ensure DIR}" ;;
    stop) cmd_stop "${2:?usage: engine.sh stop DIR}" ;;
    *) sed -n '2,10s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
