#!/usr/bin/env bash
# bench/run.sh: seam's benchmark against the floor and two other proxies.
#
# Checks the dependencies (deps.sh), builds seam (the top-level Makefile's
# default flags, -O2 -g) and the bench tools, starts fake OpenAI upstreams
# (instant; paced: one stream event per millisecond; long: one event a
# second for a minute) and four targets on 127.0.0.1, all reaching the same
# upstreams:
#   direct   loadgen -> upstream                     (the zero-overhead floor)
#   nginx    loadgen -> nginx proxy_pass -> upstream (a minimal HTTP proxy)
#   seam     loadgen -> seam -> upstream             (policy, detector, ledger, audit on)
#   portkey  loadgen -> Portkey's gateway (Node) -> upstream
# then, per repetition and alternating the targets' order:
#   1. added latency at 1 connection and at 1,000 and 5,000 req/s (open loop)
#   2. maximum throughput (64 connections), 3. streaming time to first byte,
#   5. prompt size 1 KB .. 1 MB;
# and once: a wrk cross-check, 6. policy size and detector word-list sweeps
# (seam restarted per configuration), 4. 10,000 concurrent streams held for a
# minute through seam (and direct, the control), every stream's content
# checked, seam's RSS sampled, 7. start-up time and idle RSS of seam, nginx
# and Portkey, 8. seam's instructions per request under callgrind. Finally
# plots.sh draws the plots (gnuplot) and report.jq writes bench/REPORT.md.
# Raw results stay in bench/out/<run>/; `run.sh --report bench/out/<run>`
# rewrites the report (and plots) from them.
#
# Environment (defaults keep the whole run, builds included, near 11 min):
#   REPS (3), DUR (seconds per closed-loop run, 2), RATE_DUR (open loop, 3),
#   WARM (0.5), SIZE_DUR (prompt-size runs, 1.5), SWEEP_DUR (policy/words
#   runs, 2), STREAMS (10000), STREAM_HOLD (seconds a long stream lasts, 60),
#   STREAM_CONTROL (1: also run the streams direct), STARTS (start-ups per
#   target, 5), CALLGRIND (1), CG_N (400), TARGETS ("direct nginx seam
#   portkey"; direct is always kept), DEPS (1: run deps.sh), REPORT (output
#   file, relative to bench/; REPORT.md), PLOTS (plots directory, relative to
#   bench/; plots), SEAM_BIN (a prebuilt binary; SEAM_VERSION says what it
#   is), SEAM_REV (a git revision to export, build and measure instead of the
#   working tree).
# Traffic goes to 127.0.0.1 only.
set -euo pipefail
if [ "${1:-}" = --report ] && [ -d "${2:-}" ]; then set -- --report "$(cd "$2" && pwd)"; fi
cd "$(dirname "$0")"

REPS=${REPS:-3}
DUR=${DUR:-2}
RATE_DUR=${RATE_DUR:-3}
WARM=${WARM:-0.5}
SIZE_DUR=${SIZE_DUR:-1.5}
SWEEP_DUR=${SWEEP_DUR:-2}
STREAMS=${STREAMS:-10000}
STREAM_HOLD=${STREAM_HOLD:-60}
STREAM_CONTROL=${STREAM_CONTROL:-1}
STARTS=${STARTS:-5}
REPORT=${REPORT:-REPORT.md}
PLOTS=${PLOTS:-plots}
read -r -a TARGETS <<<"${TARGETS:-direct nginx seam portkey}"
[ "${TARGETS[0]}" = direct ] || TARGETS=(direct "${TARGETS[@]}")
UP_THREADS=2
PACE_US=1000
SEAM_WORKERS=2
NGINX_WORKERS=2
CHUNKS=16
SIZES=(1024 16384 131072 524288 1048576)
# rules words: the first line is the baseline the others are compared with.
SWEEPS=("3 10" "100 10" "1000 10" "3 1000" "3 100000")

die() { echo "run.sh: $*" >&2; exit 1; }
say() { echo "run.sh: [$(($(date +%s) - ${T_START:-$(date +%s)}))s] $*"; }
report_path() { case $REPORT in /*) echo "$REPORT" ;; *) echo "bench/$REPORT" ;; esac; }

# Writes the plots and $REPORT from the files a run left in directory $1.
write_report() {
    ./plots.sh "$1" "$PLOTS" || echo "run.sh: plots failed (see above); the report refers to them anyway" >&2
    local f
    for f in streams10k.jsonl startup.jsonl rss.jsonl; do [ -f "$1/$f" ] || : >"$1/$f"; done
    jq -n -r --slurpfile meta "$1/meta.json" --slurpfile results_in "$1/results.jsonl" \
        --slurpfile events "$1/events.jsonl" --slurpfile wrk "$1/wrk.jsonl" \
        --slurpfile streams "$1/streams10k.jsonl" --slurpfile startup "$1/startup.jsonl" \
        --slurpfile rss "$1/rss.jsonl" --arg plots "$PLOTS" -f report.jq >"$REPORT"
}
if [ "${1:-}" = --report ]; then # regenerate the report from an earlier run
    [ -f "${2:-}/meta.json" ] || die "usage: run.sh [--report bench/out/<run>]"
    write_report "$2"
    echo "run.sh: wrote $(report_path)"
    exit 0
fi

T_START=$(date +%s)
if [ "${DEPS:-1}" = 1 ]; then ./deps.sh || die "dependencies missing (bench/deps.sh)"; fi
command -v jq >/dev/null || die "jq is needed (apt-get install jq)"
command -v curl >/dev/null || die "curl is needed (apt-get install curl)"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# 10,000 streams hold 10,000 sockets in the load generator, 20,000 in seam
# (client and upstream side) and 10,000 in the upstream; every process
# started from here inherits this limit. Root may raise the hard limit.
if [ "$(id -u)" = 0 ]; then ulimit -Hn 1048576 2>/dev/null || true; fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
[ "$NOFILE" = unlimited ] || [ "$NOFILE" -ge $((2 * STREAMS + 1000)) ] ||
    echo "run.sh: warning: ulimit -n is $NOFILE, too low for $STREAMS streams through seam" >&2

say "building"
make -s all
JOBS=$(nproc)
if [ -n "${SEAM_REV:-}" ]; then
    # A committed revision, exported (read-only for the repository) and built
    # on its own: for before/after comparisons, or while the tree is mid-edit.
    # The dashboard's npm files are not in git: the export borrows ../node_modules.
    rev=$(git -C .. rev-parse --short "$SEAM_REV") || die "unknown revision $SEAM_REV"
    src=out/src-$rev
    rm -rf "$src"
    mkdir -p "$src"
    git -C .. archive "$rev" | tar -x -C "$src"
    ln -s "$(cd .. && pwd)/node_modules" "$src/node_modules"
    make -s -j"$JOBS" -C "$src" seam >"$src.build.log" 2>&1 || die "seam $rev does not build; see bench/$src.build.log"
    SEAM_BIN=$src/seam
    SEAM_VERSION="$rev, exported with git archive and built with the Makefile's default flags"
elif [ -z "${SEAM_BIN:-}" ]; then
    make -s -j"$JOBS" -C .. seam || die "seam does not build (make -C .. seam)"
    SEAM_BIN=../seam
    commit=$(git -C .. rev-parse --short HEAD 2>/dev/null || echo unknown)
    dirty=$(git -C .. status --porcelain -- src Makefile 2>/dev/null | head -c 1)
    SEAM_VERSION="$commit${dirty:+ (with uncommitted changes in src/)}, built by \`make -C .. seam\` with the Makefile's default flags"
else
    SEAM_VERSION=${SEAM_VERSION:-"prebuilt binary $SEAM_BIN"}
fi
SEAM_BIN=$(cd "$(dirname "$SEAM_BIN")" && pwd)/$(basename "$SEAM_BIN")
OUT=out/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
OUT_REL=bench/out/$(basename "$OUT")
say "results in $OUT_REL"

UP_PID=""
PACED_PID=""
LONG_PID=""
SEAM_PID=""
CG_PID=""
NGINX_PID=""
PORTKEY_PID=""
SAMPLER_PID=""
cleanup() {
    local pid
    for pid in "$SAMPLER_PID" "$SEAM_PID" "$CG_PID" "$NGINX_PID" "$PORTKEY_PID" "$UP_PID" "$PACED_PID" "$LONG_PID"; do
        if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
    done
    wait 2>/dev/null || true
}
trap cleanup EXIT

# Waits up to $3 seconds for file $2 to contain a line matching $1.
wait_for_line() {
    local pattern=$1 file=$2 secs=$3 i
    for ((i = 0; i < secs * 100; i++)); do
        grep -q -- "$pattern" "$file" 2>/dev/null && return 0
        sleep 0.01
    done
    return 1
}

# A TCP port no socket uses (for the servers that cannot take port 0),
# below the kernel's ephemeral range (32768 and up by default), so that no
# outgoing connection of the load can take it before the server binds it.
free_port() {
    local p i
    for ((i = 0; i < 100; i++)); do
        p=$((20000 + RANDOM % 12000))
        ss -Htan "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return 0; }
    done
    die "no free port"
}

EVENTS="$OUT/events.jsonl" # crashes, restarts, failed checks: one JSON object a line
: >"$EVENTS"
event() { jq -nc --arg kind "$1" --arg detail "$2" '{kind:$kind, detail:$detail}' >>"$EVENTS"; }

# ---- upstreams -----------------------------------------------------------
# "instant" answers at once (a stream's events leave in one burst); "paced"
# sends one stream event every PACE_US, like a model producing tokens, so
# the first event's latency is measured apart from the rest of the stream;
# "long" sends one event a second for STREAM_HOLD seconds (scenario 4).
start_upstream() { # $1 name, then upstream options; sets REPLY to "pid port"
    local name=$1
    shift
    ./upstream --port 0 "$@" >"$OUT/upstream-$name.out" 2>&1 &
    local pid=$!
    wait_for_line '^listening ' "$OUT/upstream-$name.out" 5 || die "upstream $name did not start: $(cat "$OUT/upstream-$name.out")"
    REPLY="$pid $(awk '/^listening /{print $2; exit}' "$OUT/upstream-$name.out")"
}
start_upstream instant --threads "$UP_THREADS" --chunks "$CHUNKS"
read -r UP_PID UP_PORT <<<"$REPLY"
start_upstream paced --threads 1 --chunks "$CHUNKS" --chunk-interval-us "$PACE_US"
read -r PACED_PID PACED_PORT <<<"$REPLY"
start_upstream long --threads 2 --chunks "$STREAM_HOLD" --chunk-interval-us 1000000
read -r LONG_PID LONG_PORT <<<"$REPLY"

# ---- seam ----------------------------------------------------------------
# seam as users run it: the shipped seam.yaml's three rules (the cloud pool
# is one more local upstream, marked cloud, which the bench's requests never
# reach: they declare X-Seam-Sensitivity: internal), the detector on with a
# custom word list (README "custom"), the ledger in an SQLite file and the
# audit log in a directory, per instance. Each instance gets its own
# directory: the audit log allows one seam process per directory.
# $1 name, $2 rules ("shipped" or a count N: N-1 rules that never match
# followed by sensitive-stays-local, so every rule is evaluated), $3 custom
# words, $4 listen address. Prints the configuration file's path.
seam_config() {
    local dir="$OUT/seam-$1" rules=$2 words=$3 listen=$4 i
    mkdir -p "$dir"
    # Words that never occur in the bench's prompts (letters only: the
    # prompt's words are English; bench + base-26 digits of i).
    awk -v n="$words" 'BEGIN { for (i = 0; i < n; i++) { w = ""; x = i
        for (k = 0; k < 5; k++) { w = sprintf("%c", 97 + x % 26) w; x = int(x / 26) }
        print "zbench" w } }' >"$dir/words.txt"
    {
        cat <<EOF
listen: $listen
workers: $SEAM_WORKERS
limits: { max_body_bytes: 33554432, request_timeout_ms: 600000 }
backends:
  - name: bench-local
    provider: openai
    url: http://127.0.0.1:$UP_PORT
    location: local
    clearance: regulated
    models: [bench-model]
    context_window: 1048576       # the 1 MB prompt (about 262k tokens) must fit
  - name: bench-paced
    provider: openai
    url: http://127.0.0.1:$PACED_PORT
    location: local
    models: [bench-paced]
    context_window: 1048576
  - name: bench-long
    provider: openai
    url: http://127.0.0.1:$LONG_PORT
    location: local
    models: [bench-long]
    context_window: 1048576
  - name: bench-cloud
    provider: openai
    url: http://127.0.0.1:$UP_PORT
    location: cloud
    models: [bench-cloud]
    context_window: 1048576
    api_key_env: ""
pools:
  local: [bench-local]
  paced: [bench-paced]
  long: [bench-long]
  cloud: [bench-cloud]
policy:
  rules:
EOF
        if [ "$rules" = shipped ]; then
            cat <<EOF
    - { name: sensitive-stays-local, when: { sensitivity: [internal, regulated] }, route: local }
    - { name: high-volume-stays-local, when: { tokens_gt: 64000 }, route: local }
    - { name: frontier-drafting, when: { kind: [draft], complexity: [high] }, route: cloud }
EOF
        else
            # Three shapes of rule that the bench's request never matches.
            for ((i = 1; i < rules; i++)); do
                case $((i % 3)) in
                0) echo "    - { name: r$i-model, when: { model: [bench-other-$i], sensitivity: [internal] }, route: cloud }" ;;
                1) echo "    - { name: r$i-kind, when: { kind: [draft], complexity: [high] }, route: cloud }" ;;
                2) echo "    - { name: r$i-size, when: { tokens_gt: $((100000000 + i)) }, route: cloud }" ;;
                esac
            done
            echo "    - { name: sensitive-stays-local, when: { sensitivity: [internal, regulated] }, route: local }"
        fi
        cat <<EOF
  default: local
detect:
  enabled: true
  custom:
    - { name: BENCH_WORDS, words_file: words.txt, level: internal }
state: { sqlite: $dir/ledger.db }
audit: { dir: $dir/audit }
EOF
    } >"$dir/seam.yaml"
    echo "$dir/seam.yaml"
}

SEAM_STARTS=0
SEAM_URL=""
SEAM_LOG=""
start_seam() { # $1 configuration file
    SEAM_STARTS=$((SEAM_STARTS + 1))
    SEAM_LOG="$OUT/seam.$SEAM_STARTS.log"
    "$SEAM_BIN" serve -c "$1" 2>"$SEAM_LOG" >/dev/null &
    SEAM_PID=$!
    if ! wait_for_line '"msg":"listening"' "$SEAM_LOG" 30; then
        event seam-start "seam did not log \"listening\" within 30 s; log tail: $(tail -c 600 "$SEAM_LOG")"
        return 1
    fi
    local listen
    listen=$(jq -rR 'fromjson? | select(.msg == "listening") | .listen' "$SEAM_LOG" | head -n 1)
    [ -n "$listen" ] || { event seam-start "no listen address in the log"; return 1; }
    SEAM_URL="http://$listen/v1/chat/completions"
}
stop_seam() { # SIGTERM, then checks seam left in time and with status 0
    [ -n "$SEAM_PID" ] || return 0
    local st=0 i
    kill -TERM "$SEAM_PID" 2>/dev/null || true
    for ((i = 0; i < 1500; i++)); do kill -0 "$SEAM_PID" 2>/dev/null || break; sleep 0.01; done
    if kill -0 "$SEAM_PID" 2>/dev/null; then
        event shutdown "seam still running 15 s after SIGTERM"
        kill -KILL "$SEAM_PID" 2>/dev/null || true
    fi
    wait "$SEAM_PID" 2>/dev/null || st=$?
    [ "$st" = 0 ] || event shutdown "seam exited with status $st after SIGTERM"
    SEAM_PID=""
}
seam_alive() { [ -n "$SEAM_PID" ] && kill -0 "$SEAM_PID" 2>/dev/null; }

# VmRSS and VmHWM of seam in kB, as a JSON object.
seam_mem() {
    jq -nc --argjson rss "$(awk '/^VmRSS/{print $2}' "/proc/$SEAM_PID/status")" \
        --argjson hwm "$(awk '/^VmHWM/{print $2}' "/proc/$SEAM_PID/status")" '{rss_kb:$rss, hwm_kb:$hwm}'
}

SEAM_CONF=$(seam_config main shipped 10 127.0.0.1:0)
start_seam "$SEAM_CONF" || die "seam did not start; see $OUT_REL/seam.1.log"
sleep 0.5
MEM_IDLE=$(seam_mem)

# ---- nginx ---------------------------------------------------------------
# A plain reverse proxy: keep-alive to the upstream, no buffering (streams
# pass through at once), bodies up to 32 MB kept in memory (1 MB prompts),
# one access-log line per request to a file, as seam writes one log line
# per request. One server per upstream.
NGINX_DIR="$OUT/nginx"
mkdir -p "$NGINX_DIR"
NGINX_PORT=$(free_port)
NGINX_PACED_PORT=$(free_port)
nginx_config() { # $1 port for the instant upstream, $2 for the paced one
    cat <<EOF
$([ "$(id -u)" = 0 ] && echo "user root;")
worker_processes $NGINX_WORKERS;
worker_rlimit_nofile 65536;
error_log $NGINX_DIR/error.log warn;
pid $NGINX_DIR/nginx.pid;
events { worker_connections 16384; }
http {
    access_log $NGINX_DIR/access.log;
    client_body_temp_path $NGINX_DIR/body;
    proxy_temp_path $NGINX_DIR/proxy;
    fastcgi_temp_path $NGINX_DIR/fastcgi;
    uwsgi_temp_path $NGINX_DIR/uwsgi;
    scgi_temp_path $NGINX_DIR/scgi;
    client_max_body_size 32m;
    client_body_buffer_size 2m;
    keepalive_requests 1000000;
    upstream instant { server 127.0.0.1:$UP_PORT; keepalive 64; }
    upstream paced { server 127.0.0.1:$PACED_PORT; keepalive 64; }
    server {
        listen 127.0.0.1:$1 backlog=4096;
        location / {
            proxy_pass http://instant;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
    server {
        listen 127.0.0.1:$2 backlog=4096;
        location / {
            proxy_pass http://paced;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
EOF
}
# Whether URL answers (any HTTP status) within $2 tries $3 seconds apart.
answers() {
    local i
    for ((i = 0; i < $2; i++)); do
        curl -s --noproxy '*' -m 1 -o /dev/null "$1" && return 0
        sleep "$3"
    done
    return 1
}
NGINX_VERSION=$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')
start_nginx() {
    nginx_config "$NGINX_PORT" "$NGINX_PACED_PORT" >"$NGINX_DIR/nginx.conf"
    "$NGINX" -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -g 'daemon off;' >"$NGINX_DIR/stdout.log" 2>&1 &
    NGINX_PID=$!
    answers "http://127.0.0.1:$NGINX_PORT/v1/models" 500 0.01 && return 0
    event nginx-start "nginx did not answer within 5 s: $(tail -c 400 "$NGINX_DIR/error.log" 2>/dev/null)"
    return 1
}

# ---- Portkey's gateway ---------------------------------------------------
# @portkey-ai/gateway (bench/package.json), one Node process, headless, with
# portkey-shim.mjs (see there: without it its streams fail on Node 20). It
# forwards to the upstream named per request in x-portkey-custom-host.
PORTKEY_PORT=$(free_port)
PORTKEY_VERSION=$(jq -r .version node_modules/@portkey-ai/gateway/package.json 2>/dev/null || echo missing)
NODE_VERSION=$(node --version 2>/dev/null || echo missing)
portkey_cmd=(node --import ./portkey-shim.mjs node_modules/@portkey-ai/gateway/build/start-server.js --headless)
start_portkey() {
    TRUSTED_CUSTOM_HOSTS=localhost,127.0.0.1 "${portkey_cmd[@]}" --port="$PORTKEY_PORT" >"$OUT/portkey.log" 2>&1 &
    PORTKEY_PID=$!
    answers "http://127.0.0.1:$PORTKEY_PORT/" 300 0.05 && return 0
    event portkey-start "Portkey did not answer within 15 s: $(tail -c 400 "$OUT/portkey.log")"
    return 1
}

has_target() { local t; for t in "${TARGETS[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }
if has_target nginx; then start_nginx || true; fi
if has_target portkey; then start_portkey || true; fi

# Every process of a target, for CPU accounting (nginx: master and workers).
target_pids() {
    case $1 in
    seam) echo "$SEAM_PID" ;;
    portkey) echo "$PORTKEY_PID" ;;
    nginx) [ -z "$NGINX_PID" ] || echo "$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')" ;;
    esac
}
target_alive() {
    case $1 in
    direct) return 0 ;;
    seam) seam_alive ;;
    nginx) [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null ;;
    portkey) [ -n "$PORTKEY_PID" ] && kill -0 "$PORTKEY_PID" 2>/dev/null ;;
    esac
}
ensure_target() { # restarts a target process that died (the death is recorded)
    target_alive "$1" && return 0
    event "$1-restart" "$1 was not running before a run; restarting"
    case $1 in
    seam) start_seam "$SEAM_CONF" || true ;;
    nginx) start_nginx || true ;;
    portkey) start_portkey || true ;;
    esac
}
target_url() { # $1 target, $2 upstream (instant|paced)
    local port=$UP_PORT
    [ "${2:-instant}" = paced ] && port=$PACED_PORT
    case $1 in
    direct) echo "http://127.0.0.1:$port/v1/chat/completions" ;;
    seam) echo "$SEAM_URL" ;;
    nginx) [ "${2:-instant}" = paced ] && port=$NGINX_PACED_PORT || port=$NGINX_PORT
        echo "http://127.0.0.1:$port/v1/chat/completions" ;;
    portkey) echo "http://127.0.0.1:$PORTKEY_PORT/v1/chat/completions" ;;
    esac
}
target_headers() { # $1 target, $2 upstream: extra loadgen options
    local port=$UP_PORT
    [ "${2:-instant}" = paced ] && port=$PACED_PORT
    if [ "$1" = portkey ]; then
        printf '%s\n' -H 'x-portkey-provider: openai' -H "x-portkey-custom-host: http://127.0.0.1:$port/v1" \
            -H 'Authorization: Bearer bench'
    fi
}

# ---- smoke test: one request of each kind per target ------------------------
BODY="$OUT/smoke.json"
printf '{"model":"auto","messages":[{"role":"user","content":"hello"}],"max_tokens":16}' >"$BODY"
jq -c '. + {stream:true, stream_options:{include_usage:true}}' "$BODY" >"$OUT/smoke-stream.json"
SMOKE='{}'
for target in "${TARGETS[@]}"; do
    mapfile -t hdrs < <(target_headers "$target" instant)
    for kind in nonstream stream; do
        f=$BODY
        [ $kind = stream ] && f=$OUT/smoke-stream.json
        code=$(curl -sS --noproxy '*' -m 10 -o "$OUT/smoke.$target.$kind.body" -D "$OUT/smoke.$target.$kind.headers" \
            -w '%{http_code}' -H 'Content-Type: application/json' -H 'X-Seam-Sensitivity: internal' "${hdrs[@]}" \
            --data-binary @"$f" "$(target_url "$target" instant)" 2>&1) || code="curl failed: $code"
        [ "$code" = 200 ] || event smoke "$kind request through $target: status $code: $(head -c 300 "$OUT/smoke.$target.$kind.body" 2>/dev/null)"
        if [ $kind = stream ] && [ "$code" = 200 ] && ! tail -c 20 "$OUT/smoke.$target.stream.body" | grep -q 'data: \[DONE\]'; then
            event smoke "stream through $target does not end with data: [DONE]"
        fi
        SMOKE=$(jq -c --arg t "$target" --arg k "$kind" --arg c "$code" '.[$t][$k] = $c' <<<"$SMOKE")
    done
done
SMOKE_HEADERS=$(grep -i '^x-seam-' "$OUT/smoke.seam.nonstream.headers" 2>/dev/null | tr -d '\r' | paste -sd ';' - || true)

# CPU accounting, in clock ticks: "busy total steal target upstreams". Busy
# is every non-idle tick of the machine; the target and the upstreams are
# their processes' user + system ticks (all threads).
proc_ticks() { local p s=0; for p in "$@"; do s=$((s + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo $s; }
cpu_snapshot() { # $1 target
    local busy_total
    busy_total=$(awk '/^cpu /{b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6, $9; exit}' /proc/stat)
    # shellcheck disable=SC2046
    echo "$busy_total $(proc_ticks $(target_pids "$1")) $(proc_ticks "$UP_PID" "$PACED_PID" "$LONG_PID")"
}

# Every process's CPU ticks as "pid ticks comm" lines, to name whatever else
# kept the machine busy during the run.
proc_table() {
    awk '{
        l = $0; o = index(l, "("); c = 0
        for (i = length(l); i > 0; i--) if (substr(l, i, 1) == ")") { c = i; break }
        if (!o || !c) next
        n = split(substr(l, c + 2), f, " ")
        print $1, f[12] + f[13], substr(l, o + 1, c - o - 1)
    }' /proc/[0-9]*/stat 2>/dev/null || true
}

RESULTS="$OUT/results.jsonl"
: >"$RESULTS"

# One loadgen run. $1 scenario, $2 target, $3 rep, $4 loadgen args, $5
# upstream, $6 run time bound in seconds.
run_one() {
    local url f rc=0 hdrs
    f="$OUT/$1.$2.$3.json"
    ensure_target "$2"
    url=$(target_url "$2" "$5")
    mapfile -t hdrs < <(target_headers "$2" "$5")
    local before after
    before=$(cpu_snapshot "$2")
    # shellcheck disable=SC2086
    timeout "$6" ./loadgen --url "$url" "${hdrs[@]}" $4 --label "$1/$2/$3" >"$f" 2>"$f.err" || rc=$?
    after=$(cpu_snapshot "$2")
    if [ $rc -ne 0 ] || ! jq -e . "$f" >/dev/null 2>&1; then
        event loadgen "$1 $2 rep $3: loadgen exit $rc: $(head -c 300 "$f.err")"
        return
    fi
    if ! target_alive "$2"; then
        local st=0
        case $2 in
        seam) wait "$SEAM_PID" || st=$?
            event seam-crash "seam exited (status $st) during $1 rep $3; log tail: $(tail -c 600 "$SEAM_LOG")"
            SEAM_PID="" ;;
        *) event "$2-crash" "$2 exited during $1 rep $3" ;;
        esac
    fi
    local errs
    errs=$(jq -r '.errors' "$f")
    [ "$errs" = 0 ] || event errors "$1 $2 rep $3: $errs errors, first: $(jq -r '.first_error' "$f")"
    # Where the machine's CPU went during the run: the load generator, the
    # target (seam, nginx or Portkey), the upstreams, everything else (other
    # processes, the kernel's own work), and time stolen by the hypervisor.
    local tck
    tck=$(getconf CLK_TCK)
    jq -c --arg s "$1" --arg t "$2" --argjson r "$3" --arg b "$before" --arg a "$after" --argjson hz "$tck" '
        ($b | split(" ") | map(tonumber)) as $x | ($a | split(" ") | map(tonumber)) as $y
        | (($y[1] - $x[1]) / $hz) as $wall_cpu_s
        | (if $t == "direct" then 0 else ($y[3] - $x[3]) / $hz end) as $proxy_s
        | (($y[4] - $x[4]) / $hz) as $up_s
        | (($y[0] - $x[0]) / $hz) as $busy_s
        | {scenario:$s, target:$t, rep:$r, result:.,
           cpu: {seconds_all_cpus: $wall_cpu_s, busy_s: $busy_s, steal_s: (($y[2] - $x[2]) / $hz),
                 loadgen_s: .cpu_s, proxy_s: $proxy_s, upstream_s: $up_s,
                 other_s: ([$busy_s - .cpu_s - $proxy_s - $up_s, 0] | max),
                 proxy_us_per_request: (if $t != "direct" and .ok_total > 0 then $proxy_s * 1e6 / .ok_total else null end)}}' \
        "$f" >>"$RESULTS"
}

# Runs one scenario on the targets given, in order on odd repetitions and in
# reverse on even ones. $1 rep, $2 name, $3 upstream, $4 args, $5 bound, then targets.
alternate() {
    local rep=$1 name=$2 upstream=$3 args=$4 bound=$5 i
    shift 5
    local order=("$@")
    if ((rep % 2 == 0)); then
        order=()
        for ((i = $# ; i >= 1; i--)); do order+=("${!i}"); done
    fi
    for target in "${order[@]}"; do
        say "rep $rep/$REPS $name $target"
        run_one "$name" "$target" "$rep" "$args" "$upstream" "$bound"
    done
}

# ---- scenarios 1-3 -----------------------------------------------------------
# name|title|upstream|loadgen arguments (the URL and headers are added per
# target). The model bench-paced pins seam to the paced upstream; "auto"
# goes to the instant one. Open-loop runs cap connections at 64 and time out
# after 3 s so that a target that falls behind (Portkey at 5,000 req/s)
# ends the run in bounded time; what it achieved is reported.
OPEN="--connections 64 --timeout-ms 3000 --spin-us 100 --duration $RATE_DUR"
SCENARIOS=(
    "nonstream-c1|Non-stream, 1 KB prompt, closed loop, 1 connection|instant|--prompt-bytes 1024 --concurrency 1 --duration $DUR"
    "nonstream-r1000|Non-stream, 1 KB prompt, open loop at 1,000 req/s|instant|--prompt-bytes 1024 --rate 1000 $OPEN"
    "nonstream-r5000|Non-stream, 1 KB prompt, open loop at 5,000 req/s|instant|--prompt-bytes 1024 --rate 5000 $OPEN"
    "stream-c1|Stream (16 chunks + usage, sent at once), 1 KB prompt, closed loop, 1 connection|instant|--prompt-bytes 1024 --stream --concurrency 1 --duration $DUR"
    "stream-paced-c4|Paced stream (one event every $PACE_US µs), 1 KB prompt, closed loop, 4 connections|paced|--prompt-bytes 1024 --model bench-paced --stream --concurrency 4 --duration $DUR"
    "nonstream-c64|Maximum throughput: non-stream, 1 KB prompt, closed loop, 64 connections|instant|--prompt-bytes 1024 --concurrency 64 --threads 2 --duration $DUR"
)
BOUND=$((RATE_DUR + 15))
proc_table >"$OUT/procs.before"
T_LOOP=$(date +%s%N)
for ((rep = 1; rep <= REPS; rep++)); do
    for sc in "${SCENARIOS[@]}"; do
        IFS='|' read -r name _ upstream args <<<"$sc"
        alternate "$rep" "$name" "$upstream" "--warmup $WARM $args" "$BOUND" "${TARGETS[@]}"
    done
done

# ---- scenario 5: prompt size ---------------------------------------------
for ((rep = 1; rep <= REPS; rep++)); do
    for size in "${SIZES[@]}"; do
        alternate "$rep" "size-$size" instant "--warmup 0.3 --prompt-bytes $size --concurrency 1 --duration $SIZE_DUR --timeout-ms 10000" \
            $((${SIZE_DUR%.*} + 15)) "${TARGETS[@]}"
    done
done

# Other processes that used more than 5% of one CPU during the scenarios.
proc_table >"$OUT/procs.after"
loop_s=$(( ($(date +%s%N) - T_LOOP) / 1000000 ))
skip=" $UP_PID $PACED_PID $LONG_PID $SEAM_PID $NGINX_PID $(target_pids nginx) $PORTKEY_PID $$ "
OTHER_PROCS=$(awk -v hz="$(getconf CLK_TCK)" -v ms="$loop_s" -v skip="$skip" '
    NR == FNR { t[$1] = $2; next }
    ($1 in t) && index(skip, " " $1 " ") == 0 {
        pct = ($2 - t[$1]) / hz * 100000 / ms
        if (pct >= 5) { $2 = ""; sub(/^[0-9]+  /, ""); printf "%s\t%.0f\n", $0, pct }
    }' "$OUT/procs.before" "$OUT/procs.after" | sort -t "$(printf '\t')" -k2 -nr | head -n 5 |
    jq -Rn '[inputs | split("\t") | {name: .[0], cpu_pct: (.[1] | tonumber)}]')

# ---- cross-check with wrk (a different client) for throughput -------------
WRK="$OUT/wrk.jsonl"
: >"$WRK"
if command -v wrk >/dev/null; then
    say "wrk cross-check"
    for target in "${TARGETS[@]}"; do
        ensure_target "$target"
        {
            echo 'wrk.method = "POST"'
            echo 'wrk.headers["Content-Type"] = "application/json"'
            echo 'wrk.headers["X-Seam-Sensitivity"] = "internal"'
            target_headers "$target" instant | awk 'NR % 2 == 0 { i = index($0, ": "); printf "wrk.headers[\"%s\"] = \"%s\"\n", substr($0, 1, i - 1), substr($0, i + 2) }'
            echo "wrk.body = '{\"model\":\"auto\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful assistant.\"},{\"role\":\"user\",\"content\":\"$(head -c 1024 /dev/zero | tr '\0' 'a')\"}],\"max_tokens\":16}'"
        } >"$OUT/wrk.$target.lua"
        timeout $((DUR + 20)) wrk -t2 -c64 -d"${DUR}s" --latency -s "$OUT/wrk.$target.lua" "$(target_url "$target" instant)" >"$OUT/wrk.$target.txt" 2>&1 || true
        rps=$(awk '/^Requests\/sec:/{print $2}' "$OUT/wrk.$target.txt")
        non2xx=$(awk '/Non-2xx/{print $NF}' "$OUT/wrk.$target.txt")
        sockerr=$(grep -o 'Socket errors:.*' "$OUT/wrk.$target.txt" || true)
        p50=$(awk '$1=="50%"{print $2}' "$OUT/wrk.$target.txt")
        p99=$(awk '$1=="99%"{print $2}' "$OUT/wrk.$target.txt")
        jq -nc --arg t "$target" --arg rps "${rps:-0}" --arg n "${non2xx:-0}" --arg se "$sockerr" \
            --arg p50 "$p50" --arg p99 "$p99" \
            '{target:$t, rps:($rps|tonumber), non2xx:($n|tonumber), socket_errors:$se, p50:$p50, p99:$p99}' >>"$WRK"
        [ "${non2xx:-0}" = 0 ] || event errors "wrk $target: $non2xx non-2xx responses"
    done
fi

# The other proxies are done: stop them so they leave the CPUs to what follows.
MEM_AFTER='null'
if seam_alive; then MEM_AFTER=$(seam_mem); fi
stop_seam
for pid in "$NGINX_PID" "$PORTKEY_PID"; do [ -z "$pid" ] || { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }; done
NGINX_PID=""
PORTKEY_PID=""

# ---- scenario 6: policy size and custom detector words ---------------------
# seam restarted per configuration; 1,000 req/s open loop, 1 KB prompt,
# against direct in the same repetition.
for sw in "${SWEEPS[@]}"; do
    read -r nrules nwords <<<"$sw"
    name="policy-r$nrules-w$nwords"
    conf=$(seam_config "$name" "$nrules" "$nwords" 127.0.0.1:0)
    say "$name: starting seam ($nrules rules, $nwords custom words)"
    t0=$(date +%s%N)
    if ! start_seam "$conf"; then event sweep "$name: seam did not start"; continue; fi
    t_listen=$(( ($(date +%s%N) - t0) / 1000000 ))
    jq -nc --arg n "$name" --argjson ms "$t_listen" --argjson mem "$(seam_mem)" \
        '{sweep:$n, listening_ms:$ms, mem:$mem}' >>"$OUT/sweep-starts.jsonl"
    SEAM_CONF=$conf
    for ((rep = 1; rep <= REPS; rep++)); do
        alternate "$rep" "$name" instant "--warmup $WARM --prompt-bytes 1024 --rate 1000 --connections 64 --timeout-ms 3000 --duration $SWEEP_DUR" \
            $((${SWEEP_DUR%.*} + 15)) direct seam
    done
    stop_seam
done

# ---- scenario 4: 10,000 concurrent streams for a minute -------------------
# Streams from the long upstream (one event a second for STREAM_HOLD
# seconds), opened at STREAMS/5 per second (open loop, so all are open
# after 5 s), each checked whole: the content of its events joined must be
# the upstream's answer (the non-stream answer of the same upstream has the
# same text), a finish_reason "stop", and data: [DONE]. seam's RSS is
# sampled every second meanwhile.
STREAM_RATE=$((STREAMS / 5))
EXPECT=$(curl -sS --noproxy '*' -m 10 -H 'Content-Type: application/json' \
    -d '{"model":"bench-long","messages":[{"role":"user","content":"x"}]}' \
    "http://127.0.0.1:$LONG_PORT/v1/chat/completions" | jq -r '.choices[0].message.content')
: >"$OUT/streams10k.jsonl"
: >"$OUT/rss.jsonl"
streams_run() { # $1 target, $2 url
    local f="$OUT/streams10k.$1.json" rc=0 before after
    before=$(cpu_snapshot "$1")
    timeout $((STREAM_HOLD + 120)) ./loadgen --url "$2" --model bench-long --stream --prompt-bytes 1024 \
        --rate "$STREAM_RATE" --duration 5 --warmup 0 --threads 2 --timeout-ms $(((STREAM_HOLD + 60) * 1000)) \
        --expect-content "$EXPECT" --label "streams10k/$1" >"$f" 2>"$f.err" || rc=$?
    after=$(cpu_snapshot "$1")
    if [ $rc -ne 0 ] || ! jq -e . "$f" >/dev/null 2>&1; then
        event streams10k "$1: loadgen exit $rc: $(head -c 300 "$f.err")"
        return
    fi
    local errs
    errs=$(jq -r '.errors' "$f")
    [ "$errs" = 0 ] || event streams10k "$1: $errs of $STREAMS streams failed, first: $(jq -r '.first_error' "$f"); kinds: $(jq -c '.error_kinds' "$f")"
    jq -c --arg t "$1" --arg b "$before" --arg a "$after" --argjson hz "$(getconf CLK_TCK)" --argjson n "$STREAMS" '
        ($b | split(" ") | map(tonumber)) as $x | ($a | split(" ") | map(tonumber)) as $y
        | {target:$t, streams:$n, result:., proxy_cpu_s: (($y[3] - $x[3]) / $hz)}' "$f" >>"$OUT/streams10k.jsonl"
}
if [ "$STREAMS" -gt 0 ]; then
    say "$STREAMS streams through seam for ${STREAM_HOLD} s"
    SEAM_CONF=$(seam_config streams shipped 10 127.0.0.1:0)
    if start_seam "$SEAM_CONF"; then
        # RSS sampler: one line a second, until seam or this loop ends.
        ( t0=$(date +%s%N)
          while kill -0 "$SEAM_PID" 2>/dev/null; do
              rss=$(awk '/^VmRSS/{print $2}' "/proc/$SEAM_PID/status" 2>/dev/null) || break
              thr=$(awk '/^Threads/{print $2}' "/proc/$SEAM_PID/status" 2>/dev/null) || break
              fds=$(find "/proc/$SEAM_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
              echo "{\"t_ms\":$(( ($(date +%s%N) - t0) / 1000000 )),\"rss_kb\":${rss:-0},\"threads\":${thr:-0},\"fds\":$fds}"
              sleep 1
          done ) >>"$OUT/rss.jsonl" &
        SAMPLER_PID=$!
        streams_run seam "$SEAM_URL"
        if seam_alive; then
            STREAM_MEM=$(seam_mem)
        else
            st=0; wait "$SEAM_PID" || st=$?
            event seam-crash "seam exited (status $st) during the $STREAMS-stream run; log tail: $(tail -c 600 "$SEAM_LOG")"
            SEAM_PID=""
            STREAM_MEM=null
        fi
        kill "$SAMPLER_PID" 2>/dev/null || true
        wait "$SAMPLER_PID" 2>/dev/null || true
        SAMPLER_PID=""
        stop_seam
    else
        event streams10k "seam did not start"
    fi
    if [ "$STREAM_CONTROL" = 1 ]; then
        say "$STREAMS streams direct (control)"
        streams_run direct "http://127.0.0.1:$LONG_PORT/v1/chat/completions"
    fi
fi
STREAM_MEM=${STREAM_MEM:-null}

# ---- scenario 7: start-up time and idle RSS ---------------------------------
# exec -> first good answer, polled every millisecond by bench/startup, then
# one idle second and the RSS of the process tree (nginx: master + workers).
# seam: GET /readyz answering 200 (its backends probed). nginx: the first
# proxied answer (GET /v1/models through to the upstream). Portkey: the
# first answered chat completion.
: >"$OUT/startup.jsonl"
startup_run() { # $1 target, $2 rep, then startup options
    local t=$1 r=$2 res
    shift 2
    res=$(./startup --hold-ms 1000 --timeout-ms 20000 --log "$OUT/startup.$t.log" "$@" 2>&1 | tail -n 1) || true
    if ! jq -e .ready_us <<<"$res" >/dev/null 2>&1; then
        event startup "$t start $r: $res"
        return
    fi
    jq -c --arg t "$t" --argjson r "$r" '{target:$t, rep:$r} + .' <<<"$res" >>"$OUT/startup.jsonl"
}
say "start-up and idle RSS"
SU_PORT=$(free_port)
SU_CONF=$(seam_config startup shipped 10 "127.0.0.1:$SU_PORT")
for ((r = 1; r <= STARTS; r++)); do
    startup_run seam "$r" --port "$SU_PORT" --path /readyz --status 200 -- "$SEAM_BIN" serve -c "$SU_CONF"
done
if has_target nginx; then
    nginx_config "$SU_PORT" "$(free_port)" >"$NGINX_DIR/startup.conf"
    for ((r = 1; r <= STARTS; r++)); do
        startup_run nginx "$r" --port "$SU_PORT" --path /v1/models --status 200 -- \
            "$NGINX" -p "$NGINX_DIR" -c "$NGINX_DIR/startup.conf" -g 'daemon off;'
    done
fi
if has_target portkey; then
    for ((r = 1; r <= (STARTS < 3 ? STARTS : 3); r++)); do
        TRUSTED_CUSTOM_HOSTS=localhost,127.0.0.1 startup_run portkey "$r" --port "$SU_PORT" \
            --path /v1/chat/completions --status 200 --body "$BODY" \
            -H 'x-portkey-provider: openai' -H "x-portkey-custom-host: http://127.0.0.1:$UP_PORT/v1" \
            -H 'Authorization: Bearer bench' -- "${portkey_cmd[@]}" --port="$SU_PORT"
    done
fi

# ---- scenario 8: instructions per request (callgrind) ----------------------
# Instruction counts do not depend on what else the machine is doing, so they
# are the steady measure of seam's own cost. seam runs under callgrind on its
# own port: CG_WARM requests (dumped and discarded with start-up), then
# CG_N non-stream requests, then CG_N streams, one dump after each phase.
CG='null'
CG_N=${CG_N:-400}
CG_WARM=50
if command -v valgrind >/dev/null && command -v callgrind_control >/dev/null && [ "${CALLGRIND:-1}" = 1 ]; then
    say "callgrind"
    # valgrind 3.19 cannot read the DWARF 5 debug info of gcc 12: strip it.
    strip -g -o "$OUT/seam.nodebug" "$SEAM_BIN"
    cg_log="$OUT/callgrind.log"
    valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" \
        "$OUT/seam.nodebug" serve -c "$(seam_config callgrind shipped 10 127.0.0.1:0)" 2>"$cg_log" >/dev/null &
    CG_PID=$!
    if wait_for_line '"msg":"listening"' "$cg_log" 60; then
        cg_url="http://$(jq -rR 'fromjson? | select(.msg == "listening") | .listen' "$cg_log" | head -n 1)/v1/chat/completions"
        cg_run() { # $1 file, then loadgen options
            local f=$1
            shift
            timeout 120 ./loadgen --url "$cg_url" --warmup 0 --duration 100 --timeout-ms 60000 \
                --prompt-bytes 1024 --concurrency 1 "$@" >"$f" 2>&1 || true
            callgrind_control -d "$CG_PID" >/dev/null 2>&1 || true
        }
        cg_run "$OUT/callgrind.warm.json" --requests "$CG_WARM"
        cg_run "$OUT/callgrind.nonstream.json" --requests "$CG_N"
        cg_run "$OUT/callgrind.stream.json" --requests "$CG_N" --stream
        kill -TERM "$CG_PID" 2>/dev/null || true
        wait "$CG_PID" 2>/dev/null || true
        CG_PID=""
        # Instructions by shared object for one dump, as {object: percent}.
        by_object() {
            callgrind_annotate --inclusive=no --threshold=100 "$1" 2>/dev/null | awk '
                # In the dumps after the first, callgrind_annotate charges the
                # functions on the stack at dump time (thread start, the event
                # loop) with the whole total, or with the part of it their
                # thread ran, as if it were their own: skip them (no function
                # really executes a third of the instructions itself).
                /PROGRAM TOTALS/ { next }
                /\(100\.0%\)/ { next }
                /\( *([3-9][0-9])\.[0-9]+%\)/ { next }
                /^ *[0-9,]+ +\(/ {
                    ir = $1; gsub(",", "", ir)
                    if (match($0, /\[[^]]*\]$/)) { o = substr($0, RSTART + 1, RLENGTH - 2); n = split(o, a, "/"); o = a[n] }
                    s[o] += ir; t += ir
                }
                END { for (k in s) printf "%s\t%.4f\n", k, 100 * s[k] / t }' |
                jq -Rn '[inputs | split("\t") | {key: .[0], value: (.[1] | tonumber)}] | from_entries'
        }
        # The heaviest functions of one dump, as ["name (object) pct%"]: by own
        # instructions ($2 = no) or including their callees ($2 = yes, named
        # functions only, those on the stack at dump time left out).
        top_functions() {
            callgrind_annotate --inclusive="$2" --threshold=100 "$1" 2>/dev/null | awk -v incl="$2" '
                /PROGRAM TOTALS/ { t = $1; gsub(",", "", t); next }
                /\(100\.0%\)/ { next }
                /^ *[0-9,]+ +\(/ && n < (incl == "yes" ? 14 : 8) {
                    ir = $1; gsub(",", "", ir)
                    line = $0; sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "", line)
                    obj = ""
                    if (match(line, / \[[^]]*\]$/)) { obj = substr(line, RSTART + 2, RLENGTH - 3); line = substr(line, 1, RSTART - 1); k = split(obj, a, "/"); obj = a[k] }
                    k = split(line, b, ":"); fn = b[k]
                    if (incl == "yes" && fn ~ /^(0x[0-9a-f]+.*|clone|start_thread|event_base_dispatch|event_base_loop|worker_main|main|__libc_start_.*)$/) next
                    printf "%s%s %.1f%%\n", fn, (obj == "" ? "" : " (" obj ")"), 100 * ir / t; n++
                }' | jq -Rn '[inputs]'
        }
        ir() { awk '/^totals:/{print $2; exit}' "$1" 2>/dev/null || echo 0; }
        ok_ns=$(jq -r '.ok // 0' "$OUT/callgrind.nonstream.json" 2>/dev/null || echo 0)
        ok_st=$(jq -r '.ok // 0' "$OUT/callgrind.stream.json" 2>/dev/null || echo 0)
        if [ -f "$OUT/callgrind.out.2" ] && [ -f "$OUT/callgrind.out.3" ]; then
            CG=$(jq -nc --argjson n "$CG_N" --argjson okn "$ok_ns" --argjson oks "$ok_st" \
                --argjson irn "$(ir "$OUT/callgrind.out.2")" --argjson irs "$(ir "$OUT/callgrind.out.3")" \
                --argjson objn "$(by_object "$OUT/callgrind.out.2")" --argjson objs "$(by_object "$OUT/callgrind.out.3")" \
                --argjson topn "$(top_functions "$OUT/callgrind.out.2" no)" --argjson tops "$(top_functions "$OUT/callgrind.out.3" no)" \
                --argjson incn "$(top_functions "$OUT/callgrind.out.2" yes)" --argjson incs "$(top_functions "$OUT/callgrind.out.3" yes)" \
                '{n:$n, nonstream:{ok:$okn, ir:$irn, per_request:(if $okn > 0 then $irn / $okn else null end), by_object:$objn, top:$topn, inclusive:$incn},
                  stream:{ok:$oks, ir:$irs, per_request:(if $oks > 0 then $irs / $oks else null end), by_object:$objs, top:$tops, inclusive:$incs}}')
        else
            event callgrind "no callgrind dumps; see $OUT_REL/callgrind.log"
        fi
    else
        event callgrind "seam did not start under valgrind: $(tail -c 400 "$cg_log")"
        kill "$CG_PID" 2>/dev/null || true
        CG_PID=""
    fi
fi

# ---- shutdown --------------------------------------------------------------
kill "$UP_PID" "$PACED_PID" "$LONG_PID" 2>/dev/null || true
wait "$UP_PID" "$PACED_PID" "$LONG_PID" 2>/dev/null || true
UP_PID=""
PACED_PID=""
LONG_PID=""

# seam log lines above info level, counted by message
LOGLEVELS=$(cat "$OUT"/seam.*.log | jq -cR 'fromjson? | select(.level == "warn" or .level == "error") | {level, msg}' |
    jq -sc 'group_by([.level, .msg]) | map({level: .[0].level, msg: .[0].msg, count: length})')
# seam's access log holds a line per request: keep it compressed, drop the
# stripped copy that callgrind ran and the ledgers and audit logs.
gzip -f "$OUT"/seam.*.log
rm -f "$OUT/seam.nodebug"
du -sh "$OUT"/seam-*/ledger.db 2>/dev/null | head -n 1 >"$OUT/ledger-size.txt" || true
rm -rf "$OUT"/seam-*/audit "$OUT"/seam-*/ledger.db* "$NGINX_DIR/access.log"

# ---- report --------------------------------------------------------------
scen_json=$(for sc in "${SCENARIOS[@]}"; do
    IFS='|' read -r name title upstream args <<<"$sc"
    jq -nc --arg n "$name" --arg t "$title" --arg u "$upstream" --arg a "--warmup $WARM $args" '{name:$n, title:$t, upstream:$u, args:$a}'
done | jq -sc .)

cpu=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
mem_total=$(awk '/^MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)
T_END=$(date +%s)

jq -n \
    --arg date "$(date -u +%Y-%m-%dT%H:%MZ)" \
    --arg nproc "$(nproc)" --arg cpu "$cpu" --arg kernel "$(uname -sr)" --arg mem "$mem_total" \
    --arg os "$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")" \
    --arg cc "$(cc --version | head -n 1)" \
    --arg libevent "$(pkg-config --modversion libevent)" --arg libcurl "$(pkg-config --modversion libcurl)" \
    --arg wrkver "$(wrk -v 2>&1 | head -n 1 | awk '{print $1, $2}')" \
    --arg nginx "$NGINX_VERSION" --arg portkey "$PORTKEY_VERSION" --arg node "$NODE_VERSION" \
    --arg gnuplot "$(gnuplot --version 2>/dev/null || echo missing)" \
    --arg commit "$SEAM_VERSION" --argjson targets "$(printf '%s\n' "${TARGETS[@]}" | jq -Rn '[inputs]')" \
    --arg reps "$REPS" --arg dur "$DUR" --arg rate_dur "$RATE_DUR" --arg warm "$WARM" \
    --arg size_dur "$SIZE_DUR" --arg sweep_dur "$SWEEP_DUR" --arg streams "$STREAMS" --arg stream_hold "$STREAM_HOLD" \
    --arg starts "$STARTS" --arg nofile "$NOFILE" \
    --arg up_threads "$UP_THREADS" --arg pace_us "$PACE_US" --arg workers "$SEAM_WORKERS" --arg chunks "$CHUNKS" \
    --argjson smoke "$SMOKE" --arg smoke_headers "$SMOKE_HEADERS" \
    --arg seam_yaml "$(sed "s#$OUT#<run>#g" "$OUT/seam-main/seam.yaml")" \
    --arg nginx_conf "$(sed "s#$OUT#<run>#g" "$NGINX_DIR/nginx.conf" 2>/dev/null)" \
    --arg out "$OUT_REL" \
    --arg elapsed "$((T_END - T_START))" --arg seam_starts "$SEAM_STARTS" \
    --argjson mem_idle "$MEM_IDLE" --argjson mem_after "$MEM_AFTER" --argjson stream_mem "$STREAM_MEM" \
    --argjson scenarios "$scen_json" --argjson sizes "$(printf '%s\n' "${SIZES[@]}" | jq -n '[inputs]')" \
    --argjson sweeps "$(printf '%s\n' "${SWEEPS[@]}" | jq -Rn '[inputs | split(" ") | {rules: (.[0] | tonumber), words: (.[1] | tonumber)}]')" \
    --argjson sweep_starts "$(jq -sc . "$OUT/sweep-starts.jsonl" 2>/dev/null || echo '[]')" \
    --argjson loglevels "${LOGLEVELS:-[]}" \
    --argjson callgrind "$CG" --argjson other_procs "${OTHER_PROCS:-[]}" \
    '$ARGS.named' >"$OUT/meta.json"
write_report "$OUT"
say "wrote $(report_path) and $PLOTS/ in $((T_END - T_START)) s"
