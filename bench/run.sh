#!/usr/bin/env bash
# bench/run.sh: the added-latency benchmark of seam (issue 2).
#
# Builds seam (the top-level Makefile's default flags, -O2 -g) and the bench
# tools, starts two fake upstreams (instant, and paced: one stream event per
# millisecond) and seam on 127.0.0.1 (ephemeral ports), and runs each
# scenario alternately against two targets:
#   direct  loadgen -> upstream
#   seam    loadgen -> seam -> upstream
# for REPS repetitions (the order flips every repetition), cross-checks
# throughput with wrk, counts seam's instructions per request under callgrind,
# then writes bench/REPORT.md: machine, versions, method, commands, and per
# scenario the medians across repetitions with their spread, the added
# latency (seam - direct, paired per repetition) and the ratio seam/direct,
# CPU use, seam's memory, and every error, crash or stall seen. Raw results
# stay in bench/out/<run>/; `run.sh --report bench/out/<run>` rewrites the
# report from them.
#
# Environment: REPS (default 5), DUR (seconds per run, default 3), RATE_DUR
# (seconds for the fixed-rate scenario, default 5), WARM (default 0.5),
# CALLGRIND (1: count seam's instructions per request; default 1), CG_N
# (requests per callgrind phase, default 400), REPORT (output file, relative
# to bench/; default REPORT.md), SEAM_BIN (a prebuilt binary to measure
# instead of building ../seam; SEAM_VERSION then says what it is), SEAM_REV
# (a git revision to export, build and measure instead of the working tree).
# Traffic goes to 127.0.0.1 only. Total time is about four minutes.
# Needs jq, curl, wrk (optional) and valgrind (optional), all from Debian.
set -euo pipefail
if [ "${1:-}" = --report ] && [ -d "${2:-}" ]; then set -- --report "$(cd "$2" && pwd)"; fi
cd "$(dirname "$0")"

REPS=${REPS:-5}
DUR=${DUR:-3}
RATE_DUR=${RATE_DUR:-5}
WARM=${WARM:-0.5}
REPORT=${REPORT:-REPORT.md}
UP_THREADS=2
PACE_US=1000
SEAM_WORKERS=2
CHUNKS=16

die() { echo "run.sh: $*" >&2; exit 1; }
command -v jq >/dev/null || die "jq is needed (apt-get install jq)"

report_path() { case $REPORT in /*) echo "$REPORT" ;; *) echo "bench/$REPORT" ;; esac; }

# Writes $REPORT from the files a run left in directory $1.
write_report() {
    jq -n -r --slurpfile meta "$1/meta.json" --slurpfile results_in "$1/results.jsonl" \
        --slurpfile events "$1/events.jsonl" --slurpfile wrk "$1/wrk.jsonl" -f report.jq >"$REPORT"
}
if [ "${1:-}" = --report ]; then # regenerate the report from an earlier run
    [ -f "${2:-}/meta.json" ] || die "usage: run.sh [--report bench/out/<run>]"
    write_report "$2"
    echo "run.sh: wrote $(report_path)"
    exit 0
fi
command -v curl >/dev/null || die "curl is needed (apt-get install curl)"

T_START=$(date +%s)
make -s all
if [ -n "${SEAM_REV:-}" ]; then
    # A committed revision, exported (read-only for the repository) and built
    # on its own: for before/after comparisons, or while the tree is mid-edit.
    rev=$(git -C .. rev-parse --short "$SEAM_REV") || die "unknown revision $SEAM_REV"
    src=out/src-$rev
    rm -rf "$src"
    mkdir -p "$src"
    git -C .. archive "$rev" | tar -x -C "$src"
    make -s -C "$src" seam >"$src.build.log" 2>&1 || die "seam $rev does not build; see bench/$src.build.log"
    SEAM_BIN=$src/seam
    SEAM_VERSION="$rev, exported with git archive and built with the Makefile's default flags"
elif [ -z "${SEAM_BIN:-}" ]; then
    make -s -C .. seam || die "seam does not build (make -C .. seam)"
    SEAM_BIN=../seam
    commit=$(git -C .. rev-parse --short HEAD 2>/dev/null || echo unknown)
    dirty=$(git -C .. status --porcelain -- src Makefile 2>/dev/null | head -c 1)
    SEAM_VERSION="$commit${dirty:+ (with uncommitted changes in src/)}, built by \`make -C .. seam\` with the Makefile's default flags"
else
    SEAM_VERSION=${SEAM_VERSION:-"prebuilt binary $SEAM_BIN"}
fi
OUT=out/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
echo "run.sh: results in bench/$OUT"

UP_PID=""
PACED_PID=""
SEAM_PID=""
CG_PID=""
cleanup() {
    local pid
    for pid in "$SEAM_PID" "$CG_PID" "$UP_PID" "$PACED_PID"; do
        if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
    done
    wait 2>/dev/null || true
}
trap cleanup EXIT

# Waits up to $2 seconds for a file to contain a line matching $1.
wait_for_line() {
    local pattern=$1 file=$2 secs=$3 i
    for ((i = 0; i < secs * 100; i++)); do
        grep -q -- "$pattern" "$file" 2>/dev/null && return 0
        sleep 0.01
    done
    return 1
}

# ---- upstreams -----------------------------------------------------------
# "instant" answers at once (a stream's events leave in one burst); "paced"
# sends one stream event every PACE_US, like a model producing tokens, so
# the first event's latency is measured apart from the rest of the stream.
./upstream --port 0 --threads "$UP_THREADS" --chunks "$CHUNKS" >"$OUT/upstream.out" 2>&1 &
UP_PID=$!
./upstream --port 0 --threads 1 --chunks "$CHUNKS" --chunk-interval-us "$PACE_US" >"$OUT/upstream-paced.out" 2>&1 &
PACED_PID=$!
wait_for_line '^listening ' "$OUT/upstream.out" 5 || die "upstream did not start: $(cat "$OUT/upstream.out")"
wait_for_line '^listening ' "$OUT/upstream-paced.out" 5 || die "upstream did not start: $(cat "$OUT/upstream-paced.out")"
UP_PORT=$(awk '/^listening /{print $2; exit}' "$OUT/upstream.out")
PACED_PORT=$(awk '/^listening /{print $2; exit}' "$OUT/upstream-paced.out")

# ---- seam ----------------------------------------------------------------
cat >"$OUT/seam.yaml" <<EOF
listen: 127.0.0.1:0
workers: $SEAM_WORKERS
limits: { max_body_bytes: 33554432, request_timeout_ms: 600000 }
backends:
  - name: bench-local
    provider: openai
    url: http://127.0.0.1:$UP_PORT
    location: local
    models: [bench-model]
    context_window: 262144
  - name: bench-paced
    provider: openai
    url: http://127.0.0.1:$PACED_PORT
    location: local
    models: [bench-paced]
    context_window: 262144
pools:
  local: [bench-local]
  paced: [bench-paced]
policy:
  rules:
    - { name: sensitive-stays-local, when: { sensitivity: [internal, regulated] }, route: local }
    - { name: high-volume-stays-local, when: { tokens_gt: 64000 }, route: local }
  default: local
EOF

SEAM_STARTS=0
SEAM_URL=""
EVENTS="$OUT/events.jsonl" # crashes, restarts, failed checks: one JSON object a line
: >"$EVENTS"
event() { jq -nc --arg kind "$1" --arg detail "$2" '{kind:$kind, detail:$detail}' >>"$EVENTS"; }

start_seam() {
    SEAM_STARTS=$((SEAM_STARTS + 1))
    local log="$OUT/seam.$SEAM_STARTS.log"
    "$SEAM_BIN" serve -c "$OUT/seam.yaml" 2>"$log" >/dev/null &
    SEAM_PID=$!
    if ! wait_for_line '"msg":"listening"' "$log" 10; then
        event seam-start "seam did not log \"listening\" within 10 s; log tail: $(tail -c 600 "$log")"
        return 1
    fi
    local listen
    listen=$(jq -rR 'fromjson? | select(.msg == "listening") | .listen' "$log" | head -n 1)
    [ -n "$listen" ] || { event seam-start "no listen address in the log"; return 1; }
    SEAM_URL="http://$listen/v1/chat/completions"
}

# CPU accounting, in clock ticks: "busy total steal seam upstream". Busy is
# every non-idle tick of the machine; seam and upstream are their processes'
# user + system ticks (all threads).
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
cpu_snapshot() {
    local busy_total
    busy_total=$(awk '/^cpu /{b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6, $9; exit}' /proc/stat)
    echo "$busy_total $( [ -n "$SEAM_PID" ] && proc_ticks "$SEAM_PID" || echo 0) $(($(proc_ticks "$UP_PID") + $(proc_ticks "$PACED_PID")))"
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

seam_alive() { [ -n "$SEAM_PID" ] && kill -0 "$SEAM_PID" 2>/dev/null; }

# VmRSS and VmHWM of seam in kB, as a JSON object.
seam_mem() {
    jq -nc --argjson rss "$(awk '/^VmRSS/{print $2}' "/proc/$SEAM_PID/status")" \
        --argjson hwm "$(awk '/^VmHWM/{print $2}' "/proc/$SEAM_PID/status")" '{rss_kb:$rss, hwm_kb:$hwm}'
}

start_seam || die "seam did not start; see bench/$OUT/seam.1.log"
sleep 0.5
MEM_IDLE=$(seam_mem)

# ---- smoke test: one request of each kind, headers kept for the report ---
BODY="$OUT/smoke.json"
printf '{"model":"auto","messages":[{"role":"user","content":"hello"}],"max_tokens":16}' >"$BODY"
smoke() { # $1 = url, $2 = name, $3 = extra jq filter for the body
    local code
    code=$(curl -sS --noproxy '*' -m 10 -o "$OUT/smoke.$2.body" -D "$OUT/smoke.$2.headers" \
        -w '%{http_code}' -H 'Content-Type: application/json' -H 'X-Seam-Sensitivity: internal' \
        --data-binary @"$3" "$1" 2>&1) || code="curl failed: $code"
    echo "$code"
}
jq -c '. + {stream:true, stream_options:{include_usage:true}}' "$BODY" >"$OUT/smoke-stream.json"
SMOKE_NS=$(smoke "$SEAM_URL" nonstream "$BODY")
SMOKE_ST=$(smoke "$SEAM_URL" stream "$OUT/smoke-stream.json")
[ "$SMOKE_NS" = 200 ] || event smoke "non-stream request through seam: status $SMOKE_NS: $(head -c 300 "$OUT/smoke.nonstream.body" 2>/dev/null)"
[ "$SMOKE_ST" = 200 ] || event smoke "stream request through seam: status $SMOKE_ST: $(head -c 300 "$OUT/smoke.stream.body" 2>/dev/null)"
if [ "$SMOKE_ST" = 200 ] && ! tail -c 20 "$OUT/smoke.stream.body" | grep -q 'data: \[DONE\]'; then
    event smoke "stream through seam does not end with data: [DONE]"
fi
SMOKE_HEADERS=$(grep -i '^x-seam-' "$OUT/smoke.nonstream.headers" 2>/dev/null | tr -d '\r' | paste -sd ';' - || true)

# ---- scenarios -----------------------------------------------------------
# name|title|upstream|loadgen arguments (the URL is added per target). The
# model bench-paced pins seam to the paced upstream; "auto" goes to instant.
SCENARIOS=(
    "nonstream-c1|Non-stream, 1 KB prompt, closed loop, 1 connection|instant|--prompt-bytes 1024 --concurrency 1 --duration $DUR"
    "nonstream-r1000|Non-stream, 1 KB prompt, open loop at 1000 req/s|instant|--prompt-bytes 1024 --rate 1000 --spin-us 100 --duration $RATE_DUR"
    "stream-c1|Stream (16 chunks + usage, sent at once), 1 KB prompt, closed loop, 1 connection|instant|--prompt-bytes 1024 --stream --concurrency 1 --duration $DUR"
    "stream-paced-c4|Paced stream (one event every $PACE_US µs), 1 KB prompt, closed loop, 4 connections|paced|--prompt-bytes 1024 --model bench-paced --stream --concurrency 4 --duration $DUR"
    "nonstream-c64|Maximum throughput: non-stream, 1 KB prompt, closed loop, 64 connections|instant|--prompt-bytes 1024 --concurrency 64 --threads 2 --duration $DUR"
)
# Targets, each a way to reach the same upstream. "direct" is the floor every
# other target is compared with; a new one (nginx, another gateway) needs a
# line in target_url and, if it is a process, in ensure_target.
TARGETS=(direct seam)
ensure_target() { # restarts a target process that died (the death is recorded)
    if [ "$1" = seam ] && ! seam_alive; then
        event seam-restart "seam was not running before a run; restarting"
        start_seam || true
    fi
}
target_url() { # $1 target, $2 upstream (instant|paced)
    local port=$UP_PORT
    [ "${2:-instant}" = paced ] && port=$PACED_PORT
    case $1 in
    direct) echo "http://127.0.0.1:$port/v1/chat/completions" ;;
    seam) echo "$SEAM_URL" ;;
    esac
}
RESULTS="$OUT/results.jsonl"
: >"$RESULTS"

run_one() { # $1 scenario name, $2 target, $3 rep, $4 args, $5 upstream
    local url f rc=0
    f="$OUT/$1.$2.$3.json"
    ensure_target "$2"
    url=$(target_url "$2" "$5")
    local before after
    before=$(cpu_snapshot)
    # shellcheck disable=SC2086
    timeout $((DUR + RATE_DUR + 40)) ./loadgen --url "$url" --warmup "$WARM" $4 \
        --label "$1/$2/$3" >"$f" 2>"$f.err" || rc=$?
    after=$(cpu_snapshot)
    if [ $rc -ne 0 ] || ! jq -e . "$f" >/dev/null 2>&1; then
        event loadgen "$1 $2 rep $3: loadgen exit $rc: $(head -c 300 "$f.err")"
        return
    fi
    if [ "$2" = seam ] && ! seam_alive; then
        local st=0
        wait "$SEAM_PID" || st=$?
        event seam-crash "seam exited (status $st) during $1 rep $3; log tail: $(tail -c 600 "$OUT/seam.$SEAM_STARTS.log")"
        SEAM_PID=""
    fi
    local errs
    errs=$(jq -r '.errors' "$f")
    [ "$errs" = 0 ] || event errors "$1 $2 rep $3: $errs errors, first: $(jq -r '.first_error' "$f")"
    # Where the machine's CPU went during the run, in % of one CPU: the load
    # generator, seam, the upstream, everything else (other processes, the
    # kernel's own work), and time stolen by the hypervisor.
    local tck
    tck=$(getconf CLK_TCK)
    jq -c --arg s "$1" --arg t "$2" --argjson r "$3" --arg b "$before" --arg a "$after" --argjson hz "$tck" '
        ($b | split(" ") | map(tonumber)) as $x | ($a | split(" ") | map(tonumber)) as $y
        | (($y[1] - $x[1]) / $hz) as $wall_cpu_s
        | (if $t == "seam" then ($y[3] - $x[3]) / $hz else 0 end) as $seam_s
        | (($y[4] - $x[4]) / $hz) as $up_s
        | (($y[0] - $x[0]) / $hz) as $busy_s
        | {scenario:$s, target:$t, rep:$r, result:.,
           cpu: {seconds_all_cpus: $wall_cpu_s, busy_s: $busy_s, steal_s: (($y[2] - $x[2]) / $hz),
                 loadgen_s: .cpu_s, seam_s: $seam_s, upstream_s: $up_s,
                 other_s: ([$busy_s - .cpu_s - $seam_s - $up_s, 0] | max),
                 seam_us_per_request: (if $t == "seam" and .ok_total > 0 then $seam_s * 1e6 / .ok_total else null end)}}' \
        "$f" >>"$RESULTS"
}

proc_table >"$OUT/procs.before"
T_LOOP=$(date +%s%N)
for ((rep = 1; rep <= REPS; rep++)); do
    for sc in "${SCENARIOS[@]}"; do
        IFS='|' read -r name _ upstream args <<<"$sc"
        # Odd repetitions run the targets in order, even ones in reverse.
        order=("${TARGETS[@]}")
        if ((rep % 2 == 0)); then
            order=()
            for ((i = ${#TARGETS[@]} - 1; i >= 0; i--)); do order+=("${TARGETS[$i]}"); done
        fi
        for target in "${order[@]}"; do
            echo "run.sh: rep $rep/$REPS $name $target"
            run_one "$name" "$target" "$rep" "$args" "$upstream"
        done
    done
done

# Other processes that used more than 5% of one CPU during the scenarios.
proc_table >"$OUT/procs.after"
loop_s=$(( ($(date +%s%N) - T_LOOP) / 1000000 ))
OTHER_PROCS=$(awk -v hz="$(getconf CLK_TCK)" -v ms="$loop_s" -v skip=" $UP_PID $PACED_PID $SEAM_PID $$ " '
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
    cat >"$OUT/wrk.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Seam-Sensitivity"] = "internal"
wrk.body = '{"model":"auto","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"$(head -c 1024 /dev/zero | tr '\0' 'a')"}],"max_tokens":16}'
EOF
    for target in "${TARGETS[@]}"; do
        ensure_target "$target"
        url=$(target_url "$target")
        timeout $((DUR + 20)) wrk -t2 -c64 -d"${DUR}s" --latency -s "$OUT/wrk.lua" "$url" >"$OUT/wrk.$target.txt" 2>&1 || true
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

# ---- instructions per request (callgrind) ---------------------------------
# Instruction counts do not depend on what else the machine is doing, so they
# are the steady measure of seam's own cost. seam runs under callgrind on its
# own port: CG_WARM requests (dumped and discarded with start-up), then
# CG_N non-stream requests, then CG_N streams, one dump after each phase.
CG='null'
CG_N=${CG_N:-400}
CG_WARM=50
if command -v valgrind >/dev/null && command -v callgrind_control >/dev/null && [ "${CALLGRIND:-1}" = 1 ]; then
    echo "run.sh: callgrind"
    # valgrind 3.19 cannot read the DWARF 5 debug info of gcc 12: strip it.
    strip -g -o "$OUT/seam.nodebug" "$SEAM_BIN"
    cg_log="$OUT/callgrind.log"
    valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" \
        "$OUT/seam.nodebug" serve -c "$OUT/seam.yaml" 2>"$cg_log" >/dev/null &
    CG_PID=$!
    if wait_for_line '"msg":"listening"' "$cg_log" 30; then
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
                # loop) with the whole total as if it were their own: skip them.
                /PROGRAM TOTALS/ { next }
                /\(100\.0%\)/ { next }
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
            event callgrind "no callgrind dumps; see bench/$cg_log"
        fi
    else
        event callgrind "seam did not start under valgrind: $(tail -c 400 "$cg_log")"
        kill "$CG_PID" 2>/dev/null || true
    fi
fi

# ---- memory after load, shutdown -----------------------------------------
MEM_AFTER='null'
if seam_alive; then
    MEM_AFTER=$(seam_mem)
    kill -TERM "$SEAM_PID"
    st=0
    for ((i = 0; i < 1000; i++)); do kill -0 "$SEAM_PID" 2>/dev/null || break; sleep 0.01; done
    if kill -0 "$SEAM_PID" 2>/dev/null; then
        event shutdown "seam still running 10 s after SIGTERM"
        kill -KILL "$SEAM_PID" 2>/dev/null || true
    fi
    wait "$SEAM_PID" 2>/dev/null || st=$?
    [ "$st" = 0 ] || event shutdown "seam exited with status $st after SIGTERM"
    SEAM_PID=""
fi
kill "$UP_PID" "$PACED_PID" 2>/dev/null || true
wait "$UP_PID" "$PACED_PID" 2>/dev/null || true
UP_PID=""
PACED_PID=""

# seam log lines above info level, counted by message
LOGLEVELS=$(cat "$OUT"/seam.*.log | jq -cR 'fromjson? | select(.level == "warn" or .level == "error") | {level, msg}' |
    jq -sc 'group_by([.level, .msg]) | map({level: .[0].level, msg: .[0].msg, count: length})')
# seam's access log holds a line per request (about 100 MB a run): keep it
# compressed, and drop the stripped copy that callgrind ran.
gzip -f "$OUT"/seam.*.log
rm -f "$OUT/seam.nodebug"

# ---- report --------------------------------------------------------------
scen_json=$(for sc in "${SCENARIOS[@]}"; do
    IFS='|' read -r name title upstream args <<<"$sc"
    jq -nc --arg n "$name" --arg t "$title" --arg u "$upstream" --arg a "$args" '{name:$n, title:$t, upstream:$u, args:$a}'
done | jq -sc .)

cpu=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
mem_total=$(awk '/^MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)
T_END=$(date +%s)

# shellcheck source=/dev/null
jq -n \
    --arg date "$(date -u +%Y-%m-%dT%H:%MZ)" \
    --arg nproc "$(nproc)" --arg cpu "$cpu" --arg kernel "$(uname -sr)" --arg mem "$mem_total" \
    --arg os "$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")" \
    --arg cc "$(cc --version | head -n 1)" \
    --arg libevent "$(pkg-config --modversion libevent)" --arg libcurl "$(pkg-config --modversion libcurl)" \
    --arg wrkver "$(wrk -v 2>&1 | head -n 1 | awk '{print $1, $2}')" \
    --arg commit "$SEAM_VERSION" \
    --arg reps "$REPS" --arg dur "$DUR" --arg rate_dur "$RATE_DUR" --arg warm "$WARM" \
    --arg up_threads "$UP_THREADS" --arg pace_us "$PACE_US" --arg workers "$SEAM_WORKERS" --arg chunks "$CHUNKS" \
    --arg smoke_ns "$SMOKE_NS" --arg smoke_st "$SMOKE_ST" --arg smoke_headers "$SMOKE_HEADERS" \
    --arg seam_yaml "$(cat "$OUT/seam.yaml")" --arg out "bench/$OUT" \
    --arg elapsed "$((T_END - T_START))" --arg starts "$SEAM_STARTS" \
    --argjson mem_idle "$MEM_IDLE" --argjson mem_after "$MEM_AFTER" \
    --argjson scenarios "$scen_json" --argjson loglevels "${LOGLEVELS:-[]}" \
    --argjson callgrind "$CG" --argjson other_procs "${OTHER_PROCS:-[]}" \
    '$ARGS.named' >"$OUT/meta.json"
write_report "$OUT"
echo "run.sh: wrote $(report_path) in $((T_END - T_START)) s"
