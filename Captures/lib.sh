# shellcheck shell=bash disable=SC2034  # sets variables for record.sh and the scenarios
# lib.sh - helpers shared by the runner (record.sh), the topologies and the scenarios (sourced;
# set LOG_TAG first). Uses WORK (the run's temp dir), KNETCAP, CAP_EXTRA and OUT from record.sh.

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

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# ---------------------------------------------------------------- background helpers
BG_PIDS=()       # everything started in the background, stopped by the runner's cleanup
PIN_SERVER=()    # optional CPU pinning prefix for servers (taskset -c N), set by a topology

# Start a background helper inside a namespace, output in $WORK/NAME.log. Sets BG (pid).
bg_start() {    # $1 = ns, $2 = log name, rest = command
    local ns=$1 name=$2; shift 2
    ip netns exec "$ns" "$@" >"$WORK/$name.log" 2>&1 &
    BG=$!
    BG_PIDS+=("$BG")
}
bg_stop() { stop_pid "$1" TERM; }

# Wait until a helper prints its ready line ("ready ...") into its log.
wait_ready() {  # $1 = pid, $2 = log name
    local i
    for ((i = 0; i < 50; i++)); do
        grep -q '^ready' "$WORK/$2.log" 2>/dev/null && return 0
        kill -0 "$1" 2>/dev/null || { cat "$WORK/$2.log" >&2; die "$2 exited early"; }
        sleep 0.1
    done
    cat "$WORK/$2.log" >&2
    die "$2 did not become ready"
}

# dnsmasq authoritative for knetcap.test (other names NXDOMAIN), on port ${DNSMASQ_PORT:-53};
# pid/log $WORK/NAME.{pid,log}.
# Sets BG (pid).
dnsmasq_start() {   # $1 = ns, $2 = listen address, $3 = name, rest = more dnsmasq options
    local ns=$1 addr=$2 name=$3; shift 3
    "${PIN_SERVER[@]}" ip netns exec "$ns" dnsmasq -k --no-resolv --no-hosts --conf-file=/dev/null \
        --bind-interfaces --listen-address="$addr" --port="${DNSMASQ_PORT:-53}" --pid-file="$WORK/$name.pid" \
        --log-facility="$WORK/$name.log" --local=/knetcap.test/ "$@" &
    BG=$!
    BG_PIDS+=("$BG")
}

# ---------------------------------------------------------------- namespaces
# Delete namespaces; kill whatever still runs inside them (only we start processes there).
netns_delete() {    # namespaces...
    local ns pid
    for ns in "$@"; do
        ip netns list | grep -qw -- "$ns" || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
        sleep 0.2
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
}

# The client's resolver: `ip netns exec NS` bind-mounts /etc/netns/NS/resolv.conf over
# /etc/resolv.conf. NETNS_ETC (/etc/netns/NS) comes from the topology.
netns_etc_create() {
    [[ -d /etc/netns ]] || CREATED_ETC_NETNS=1
    mkdir -p "$NETNS_ETC"
}
netns_etc_remove() {
    rm -f "$NETNS_ETC/resolv.conf"
    rmdir "$NETNS_ETC" 2>/dev/null || true
    if [[ ${CREATED_ETC_NETNS:-0} == 1 ]]; then rmdir /etc/netns 2>/dev/null || true; fi
}
resolver() {    # $1 = nameserver; extra args = options line
    {
        printf 'nameserver %s\n' "$1"
        if [[ $# -gt 1 ]]; then printf 'options %s\n' "${*:2}"; fi
    } >"$NETNS_ETC/resolv.conf"
}

# veth TX checksum offload off, so captured checksums are valid.
offload_off() {     # $1 = ns, $2 = iface
    if command -v ethtool >/dev/null; then ip netns exec "$1" ethtool -K "$2" tx off >/dev/null; fi
}

# Packets matched by the (single) counter of an nftables table.
nft_counter() {     # $1 = ns, $2 = family, $3 = table
    ip netns exec "$1" nft list table "$2" "$3" | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}

# ---------------------------------------------------------------- capturing
start_capture() {   # $1 = ns, $2 = iface, $3 = output file, rest = filter words
    local ns=$1 ifc=$2 f=$3; shift 3
    : >"$WORK/capture.err"
    ip netns exec "$ns" "$KNETCAP" "${CAP_EXTRA[@]}" -i "$ifc" -w "$f" "$@" 2>"$WORK/capture.err" &
    CAP_PID=$!
    sleep 1   # let the tool open the interface and install the filter
    if ! kill -0 "$CAP_PID" 2>/dev/null; then
        cat "$WORK/capture.err" >&2; CAP_PID=""
        die "capture tool exited before the traffic started"
    fi
}

stop_capture() {    # $1 = output file
    # libpcap's TPACKET_V3 ring hands packets to the tool in blocks that are retired after a
    # timeout (~1 s for tcpdump); stopping right after the traffic can lose the last packets.
    sleep 2
    stop_pid "$CAP_PID" INT
    CAP_PID=""
    sed 's/^/    capture: /' "$WORK/capture.err" >&2
    [[ -s $1 ]] || die "capture tool wrote no data to $1"
}

# Move a finished capture into OUT.
publish() {         # $1 = temp file, $2 = final name
    local size
    size=$(stat -c %s "$1")
    [[ $size -lt 30000 ]] || die "$2 is $size bytes (limit 30000)"
    install -m 0644 "$1" "$OUT/$2"
    PUBLISHED+=("$2")
    log "wrote $OUT/$2 ($size bytes)"
}

# ---------------------------------------------------------------- checking a capture
# tcpdump -nn -r as awk-friendly lines (-S: absolute sequence numbers; -tt: epoch times)
dump() { tcpdump -nn -S -tt -r "$1" 2>/dev/null; }

# awk prelude for the shape checks: parse() sets src, dst, flags, seq, ack, tsval, t from a
# dump() TCP line; fail(m) and note(m) report (set NAME with -v).
AWK_TCP='
function parse(   i) {
    src = $3; dst = $5; sub(/:$/, "", dst); t = $1 + 0
    flags = ""; seq = ""; ack = ""; tsval = ""
    for (i = 6; i <= NF; i++) {
        if ($i == "Flags") { flags = $(i + 1); gsub(/[\[\],]/, "", flags) }
        if ($i == "seq") { seq = $(i + 1); sub(/,$/, "", seq); sub(/:.*/, "", seq) }
        if ($i == "ack") { ack = $(i + 1); sub(/,$/, "", ack) }
        if ($i == "val") { tsval = $(i + 1) }
    }
    if (seq != "") seq += 0
    if (ack != "") ack += 0
}
function fail(m) { print "[record] ERROR: " NAME ": " m > "/dev/stderr"; bad = 1; exit 1 }
function note(m) { print "[record]   verified: " m > "/dev/stderr" }'
