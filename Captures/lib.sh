# shellcheck shell=bash
# lib.sh - helpers shared by record.sh and record-faults.sh (sourced; set LOG_TAG first).

log() { printf '[%s] %s\n' "$LOG_TAG" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$LOG_TAG" "$*" >&2; exit 1; }

# Terminate a process we started: the given signal first, SIGKILL after ~5 s (a test runner
# may start us with SIGINT/SIGTERM blocked, and children inherit that mask).
stop_pid() {
    local pid=$1 sig=$2 i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill "-$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid ignored SIG$sig, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# Root, and one recording at a time on this machine: runs share namespace names and sysctls
# (a test suite and a developer may start one concurrently). Waits up to 10 minutes.
take_recording_lock() {
    [[ $EUID -eq 0 ]] || die "must run as root (network namespaces, nftables)"
    exec {LOCK_FD}>/run/lock/knetcap-record.lock
    flock -w 600 "$LOCK_FD" || die "another recording holds /run/lock/knetcap-record.lock"
}
