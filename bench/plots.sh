#!/usr/bin/env bash
# bench/plots.sh <run dir> [plots dir]: draws REPORT.md's plots with gnuplot
# from the raw results of one bench/run.sh run (results.jsonl, rss.jsonl).
# Numbers are the same as the report's: medians across repetitions of the
# added latency (target - direct, paired per repetition).
set -euo pipefail
run=$(cd "$1" && pwd)
cd "$(dirname "$0")"
dir=${2:-plots}
command -v gnuplot >/dev/null || { echo "plots.sh: gnuplot is missing (apt-get install gnuplot-nox)" >&2; exit 1; }
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# jq prelude: median, and the median over repetitions of target - direct
# for metric <path> of scenario <sc>.
JQ_LIB='
def median: sort | if length == 0 then null elif length % 2 == 1 then .[(length - 1) / 2]
  else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def vals($sc; $t; p): [.[] | select(.scenario == $sc and .target == $t) | {key: (.rep | tostring), value: (.result | p)}] | from_entries;
def added($sc; $t; p): vals($sc; "direct"; p) as $d | vals($sc; $t; p) as $s
  | [$d | keys[] as $k | select($s[$k] != null and $d[$k] != null) | $s[$k] - $d[$k]] | median;
def med($sc; $t; p): [.[] | select(.scenario == $sc and .target == $t) | .result | p] | median;
def proxies: [.[] | .target | select(. != "direct")] | unique | sort_by({"seam":0,"nginx":1,"portkey":2}[.] // 3);
'
results=$(jq -s . "$run/results.jsonl")
term='set terminal pngcairo size 900,520 font "sans,11"; set grid ytics; set key top left'

# 1. added latency at 1,000 and 5,000 req/s (log scale: values under 1 µs
#    or negative, i.e. lost in noise, are drawn at 1 µs).
jq -r "$JQ_LIB"'. as $r | proxies[] as $t
  | [$t] + ([["nonstream-r1000", "p50"], ["nonstream-r1000", "p99"], ["nonstream-r5000", "p50"], ["nonstream-r5000", "p99"]]
      | map(. as [$sc, $p] | $r | added($sc; $t; .latency[$p]) | if . == null then "NaN" elif . < 1 then 1 else . end))
  | @tsv' <<<"$results" >"$tmp/latency.tsv"
gnuplot <<EOF
$term
set output "$dir/added-latency.png"
set title "Added latency over direct, non-stream 1 KB prompt, open loop (median of repetitions)"
set ylabel "added latency (µs, log scale)"
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top left
plot "$tmp/latency.tsv" using 2:xtic(1) title "1,000 req/s p50", '' using 3 title "1,000 req/s p99", \
     '' using 4 title "5,000 req/s p50", '' using 5 title "5,000 req/s p99"
EOF

# 2. maximum throughput, 64 connections.
jq -r "$JQ_LIB"'. as $r | ["direct"] + proxies | .[] as $t | [$t, ($r | med("nonstream-c64"; $t; .throughput_rps) // "NaN")] | @tsv' \
    <<<"$results" >"$tmp/throughput.tsv"
gnuplot <<EOF
$term
set output "$dir/throughput.png"
set title "Maximum throughput, non-stream 1 KB prompt, 64 connections, instant upstream"
set ylabel "requests/s (median of repetitions)"
set yrange [0:*]
set style fill solid 0.8 border -1
set boxwidth 0.6
unset key
plot "$tmp/throughput.tsv" using 0:2:xtic(1) with boxes lc rgb "#4477aa", \
     '' using 0:2:(sprintf("%.0f", \$2)) with labels offset 0,0.8
EOF

# 3. added latency against prompt size.
sizes=$(jq -r '[.[] | .scenario | select(startswith("size-")) | ltrimstr("size-") | tonumber] | unique | .[]' <<<"$results")
for t in $(jq -r "$JQ_LIB"'proxies[]' <<<"$results"); do
    for s in $sizes; do
        jq -r --arg t "$t" --arg sc "size-$s" --argjson s "$s" "$JQ_LIB"'[$s / 1024, (added($sc; $t; .latency.p50) // "NaN"), (added($sc; $t; .latency.p99) // "NaN")] | @tsv' <<<"$results"
    done >"$tmp/size-$t.tsv"
done
plot_sizes=""
for t in $(jq -r "$JQ_LIB"'proxies[]' <<<"$results"); do
    plot_sizes+="${plot_sizes:+, }\"$tmp/size-$t.tsv\" using 1:(\$2 < 1 ? 1 : \$2) with linespoints lw 2 title \"$t p50\""
done
gnuplot <<EOF
$term
set output "$dir/prompt-size.png"
set title "Added latency (p50) against prompt size, 1 connection, non-stream"
set xlabel "prompt size (KB, log scale)"
set ylabel "added latency p50 (µs, log scale)"
set logscale xy
set xrange [0.8:1400]
set xtics (1, 16, 128, 512, 1024)
plot $plot_sizes
EOF

# 4. policy size and custom words: added latency and seam's CPU per request.
jq -r "$JQ_LIB"'. as $r | [.[] | .scenario | select(startswith("policy-"))] | unique
  | sort_by(capture("r(?<r>[0-9]+)-w(?<w>[0-9]+)") | [(.r | tonumber), (.w | tonumber)])[] as $sc
  | ($sc | capture("r(?<r>[0-9]+)-w(?<w>[0-9]+)")) as $c
  | ["\($c.r) / \($c.w)", ($r | added($sc; "seam"; .latency.p50) // "NaN"), ($r | added($sc; "seam"; .latency.p99) // "NaN"),
     ([$r[] | select(.scenario == $sc and .target == "seam") | .cpu.proxy_us_per_request | select(. != null)] | median // "NaN")] | @tsv' \
    <<<"$results" >"$tmp/sweep.tsv"
gnuplot <<EOF
$term
set output "$dir/policy-words.png"
set title "seam: policy rules and custom detector words, 1,000 req/s, 1 KB prompt"
set ylabel "µs (median of repetitions)"
set xlabel "policy rules / custom detector words"
set yrange [0:*]
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set datafile separator "\t"
set key below
plot "$tmp/sweep.tsv" using 2:xtic(1) title "added latency p50", '' using 4 title "seam CPU per request"
EOF

# 5. seam's RSS during the concurrent streams.
if [ -s "$run/rss.jsonl" ]; then
    jq -r '[.t_ms / 1000, .rss_kb / 1024, .fds] | @tsv' "$run/rss.jsonl" >"$tmp/rss.tsv"
    gnuplot <<EOF
$term
set output "$dir/streams-rss.png"
set title "seam during the concurrent-streams run (sampled every second)"
set xlabel "time (s)"
set ylabel "RSS (MB)"
set y2label "open file descriptors"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
plot "$tmp/rss.tsv" using 1:2 with lines lw 2 title "seam RSS", '' using 1:3 axes x1y2 with lines lw 1 title "seam fds"
EOF
fi
echo "plots.sh: wrote $(ls "$dir"/*.png | wc -l) plots in bench/$dir"
