#!/usr/bin/env bash
# bench/profile.sh: seam's own cost per request, counted in instructions by
# valgrind's callgrind (repeatable on a noisy shared machine, unlike time),
# for one or more builds side by side: the before/after record of the
# performance work (bench/PROFILE.md).
#
#   bench/profile.sh [REV|BINARY]...    default: the working tree (../seam)
#
# A REV is exported with git archive and built on its own (as run.sh does
# with SEAM_REV); a path to an executable is measured as it is. Each build
# runs under callgrind behind the bench upstream (bench/upstream.c) with the
# same configuration as the benchmark's seam (policy rules, detector, ledger
# and audit log on), takes WARM warm-up requests, then N non-stream and N
# stream requests of a 1 KB prompt from bench/loadgen one at a time; the
# counts between callgrind dumps are divided by N. Prints one table row per
# build and leaves the callgrind files in bench/out/profile-<time>/ for
# callgrind_annotate. Environment: N (default 300), WARM (default 50).
set -euo pipefail
cd "$(dirname "$0")"
N=${N:-300}
WARM=${WARM:-50}
command -v valgrind >/dev/null || { echo "profile.sh: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
command -v jq >/dev/null || { echo "profile.sh: jq is needed (apt-get install jq)" >&2; exit 1; }
make -s upstream loadgen
OUT=out/profile-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
[ $# -gt 0 ] || set -- ../seam

UP_PID=""
CG_PID=""
trap '[ -n "$CG_PID" ] && kill "$CG_PID" 2>/dev/null; [ -n "$UP_PID" ] && kill "$UP_PID" 2>/dev/null; true' EXIT

# Builds (or takes) the binary for one argument; prints its path.
binary_for() {
    if [ -x "$1" ] && [ -f "$1" ]; then
        echo "$1"
        return
    fi
    local rev src
    rev=$(git -C .. rev-parse --short "$1") || { echo "profile.sh: not a binary nor a revision: $1" >&2; exit 1; }
    src=out/src-$rev
    if [ ! -x "$src/seam" ]; then
        rm -rf "$src"
        mkdir -p "$src"
        git -C .. archive "$rev" | tar -x -C "$src"
        # The dashboard's npm files are not in git: borrow the tree's.
        [ -d ../node_modules ] && ln -s "$(cd .. && pwd)/node_modules" "$src/node_modules"
        make -s -C "$src" seam >"$src.build.log" 2>&1 || { echo "profile.sh: $rev does not build; see bench/$src.build.log" >&2; exit 1; }
    fi
    echo "$src/seam"
}

./upstream --port 0 --threads 1 --chunks 16 >"$OUT/upstream.out" 2>&1 &
UP_PID=$!
for _ in $(seq 1 500); do grep -q '^listening ' "$OUT/upstream.out" && break; sleep 0.01; done
UP_PORT=$(awk '/^listening /{print $2; exit}' "$OUT/upstream.out")

printf '| build | non-stream instructions/request | stream (16 chunks) instructions/request |\n| --- | ---: | ---: |\n'
i=0
for arg in "$@"; do
    i=$((i + 1))
    bin=$(binary_for "$arg")
    d="$OUT/$i"
    mkdir -p "$d"
    cat >"$d/seam.yaml" <<EOF
listen: 127.0.0.1:0
workers: 2
limits: { max_body_bytes: 33554432, request_timeout_ms: 600000 }
backends:
  - { name: bench-local, provider: openai, url: "http://127.0.0.1:$UP_PORT", location: local, models: [bench-model], context_window: 262144 }
pools:
  local: [bench-local]
policy:
  rules:
    - { name: sensitive-stays-local, when: { sensitivity: [internal, regulated] }, route: local }
    - { name: high-volume-stays-local, when: { tokens_gt: 64000 }, route: local }
  default: local
state: { sqlite: $(pwd)/$d/seam.db }
audit: { dir: $(pwd)/$d/audit }
EOF
    # valgrind 3.19 cannot read gcc 12's DWARF 5: measure a stripped copy.
    strip -g -o "$d/seam.nodebug" "$bin"
    valgrind --tool=callgrind --callgrind-out-file="$d/callgrind.out" \
        "$d/seam.nodebug" serve -c "$d/seam.yaml" 2>"$d/seam.log" >/dev/null &
    CG_PID=$!
    for _ in $(seq 1 600); do grep -q '"msg":"listening"' "$d/seam.log" && break; sleep 0.05; done
    url="http://$(jq -rR 'fromjson? | select(.msg == "listening") | .listen' "$d/seam.log" | head -n 1)/v1/chat/completions"
    lg() { ./loadgen --url "$url" --warmup 0 --duration 300 --timeout-ms 60000 --prompt-bytes 1024 "$@"; }
    lg --requests "$WARM" >"$d/warm.json"
    callgrind_control -d "$CG_PID" >/dev/null 2>&1
    lg --requests "$N" >"$d/nonstream.json"
    callgrind_control -d "$CG_PID" >/dev/null 2>&1
    lg --requests "$N" --stream >"$d/stream.json"
    callgrind_control -d "$CG_PID" >/dev/null 2>&1
    kill -TERM "$CG_PID"
    wait "$CG_PID" || true
    CG_PID=""
    ir() { awk '/^totals:/{print $2; exit}' "$1"; }
    for f in nonstream stream; do
        [ "$(jq -r .ok "$d/$f.json")" = "$N" ] || { echo "profile.sh: $arg: not every $f request succeeded" >&2; exit 1; }
    done
    printf '| %s | %s | %s |\n' "$arg" \
        "$(( $(ir "$d/callgrind.out.2") / N ))" "$(( $(ir "$d/callgrind.out.3") / N ))"
done
echo
echo "callgrind files: bench/$OUT/<n>/callgrind.out.{2,3} (callgrind_annotate --inclusive=yes ...)"
