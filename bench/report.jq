# report.jq: turns the results of bench/run.sh into bench/REPORT.md.
# Inputs (see run.sh): $meta (facts about the machine and the run, one object),
# $results_in [{scenario,target,rep,result}], $events, $wrk.

$meta[0] as {date: $date, nproc: $nproc, cpu: $cpu, kernel: $kernel, mem: $mem, os: $os, cc: $cc, libevent: $libevent, libcurl: $libcurl, wrkver: $wrkver, commit: $commit, reps: $reps, dur: $dur, rate_dur: $rate_dur, warm: $warm, up_threads: $up_threads, pace_us: $pace_us, workers: $workers, chunks: $chunks, smoke_ns: $smoke_ns, smoke_st: $smoke_st, smoke_headers: $smoke_headers, seam_yaml: $seam_yaml, out: $out, elapsed: $elapsed, starts: $starts, mem_idle: $mem_idle, mem_after: $mem_after, scenarios: $scenarios, loglevels: $loglevels, callgrind: $callgrind, other_procs: $other_procs}
| $results_in as $results
| 

def median: sort | if length == 0 then null
  elif length % 2 == 1 then .[(length - 1) / 2]
  else (.[length / 2 - 1] + .[length / 2]) / 2 end;

# Numbers: one decimal below 100, whole above.
def num: if . == null then "–"
  elif (. | fabs) >= 100 then (. | round | tostring)
  else ((. * 10 | round) / 10 | tostring) end;
def signed: if . == null then "–" elif . > 0 then "+" + (. | num) else (. | num) end;
def ratio: if . == null then "–" else ((. * 100 | round) / 100 | tostring) + "×" end;

# "median (min–max)" of a list of numbers.
def cell: if length == 0 then "–" else "\(median | num) (\(min | num)–\(max | num))" end;
def scell: if length == 0 then "–" else "\(median | signed) (\(min | signed)–\(max | signed))" end;

# The value of metric <path> for every repetition of <scenario> on <target>,
# as {rep: value}.
def values($sc; $target; path):
  [$results[] | select(.scenario == $sc and .target == $target)
   | {key: (.rep | tostring), value: (.result | path)}] | from_entries;

def metric_row($sc; $lbl; path):
  values($sc; "direct"; path) as $d
  | values($sc; "seam"; path) as $s
  | ([$d | keys[] as $k | select($s[$k] != null and $d[$k] != null) | $s[$k] - $d[$k]]) as $add
  | ([$d | keys[] as $k | select($s[$k] != null and $d[$k] != null and $d[$k] != 0) | $s[$k] / $d[$k]]) as $rat
  | "| \($lbl) | \([$d[] | select(. != null)] | cell) | \([$s[] | select(. != null)] | cell) | \($add | scell) | \($rat | median | ratio) |";

def latency_rows($sc; $what; $name):
  metric_row($sc; "\($name) p50"; .[$what].p50),
  metric_row($sc; "\($name) p90"; .[$what].p90),
  metric_row($sc; "\($name) p99"; .[$what].p99),
  metric_row($sc; "\($name) p99.9"; .[$what]["p99.9"]),
  metric_row($sc; "\($name) max"; .[$what].max);

def rows($sc):
  if $sc | startswith("stream") then
    latency_rows($sc; "ttfb"; "time to first byte (µs)"),
    latency_rows($sc; "latency"; "total stream time (µs)"),
    metric_row($sc; "longest gap between stream reads p50 (µs)"; .max_gap.p50),
    metric_row($sc; "longest gap between stream reads p99 (µs)"; .max_gap.p99),
    metric_row($sc; "throughput (req/s)"; .throughput_rps)
  elif $sc | test("-r[0-9]+$") then
    latency_rows($sc; "latency"; "latency (µs)"),
    metric_row($sc; "achieved rate (req/s)"; .throughput_rps),
    metric_row($sc; "send lag p99 (µs)"; .send_lag.p99)
  elif $sc | test("-c64$") then
    metric_row($sc; "**throughput (req/s)**"; .throughput_rps),
    latency_rows($sc; "latency"; "latency (µs)")
  else
    latency_rows($sc; "latency"; "latency (µs)"),
    metric_row($sc; "throughput (req/s)"; .throughput_rps)
  end;

# Median share of the machine each party used during <scenario>'s runs on
# <target>, in % of one CPU.
def cpu_line($sc; $target):
  [$results[] | select(.scenario == $sc and .target == $target and .cpu != null) | .cpu
   | (.seconds_all_cpus / ($nproc | tonumber)) as $wall
   | select($wall > 0)
   | {loadgen: (.loadgen_s / $wall * 100), seam: (.seam_s / $wall * 100),
      upstream: (.upstream_s / $wall * 100), other: (.other_s / $wall * 100),
      steal: (.steal_s / $wall * 100)}] as $r
  | if ($r | length) == 0 then "–" else
    "loadgen \($r | map(.loadgen) | median | round)%, "
    + (if $target == "seam" then "seam \($r | map(.seam) | median | round)%, " else "" end)
    + "upstream \($r | map(.upstream) | median | round)%, other \($r | map(.other) | median | round)% (max \($r | map(.other) | max | round)%), steal \($r | map(.steal) | median | round)%"
  end;

def errors_of($sc; $target):
  [$results[] | select(.scenario == $sc and .target == $target) | .result.errors] | add // 0;
def requests_of($sc; $target):
  [$results[] | select(.scenario == $sc and .target == $target) | .result.ok] | add // 0;

def headline($sc; path; $what):
  values($sc; "direct"; path) as $d | values($sc; "seam"; path) as $s
  | ([$d | keys[] as $k | select($s[$k] != null and $d[$k] != null) | $s[$k] - $d[$k]] | median) as $add
  | ([$d | keys[] as $k | select($s[$k] != null and $d[$k] != null and $d[$k] != 0) | $s[$k] / $d[$k]] | median) as $rat
  | {what: $what, direct: ([$d[] | select(. != null)] | median), seam: ([$s[] | select(. != null)] | median), add: $add, ratio: $rat};

def thousands: tostring | [scan("[0-9]+")] | .[0] | (length % 3) as $r
  | [.[0:$r]] + [range($r; length; 3) as $i | .[$i:$i + 3]] | map(select(. != "")) | join(",");
def objects: to_entries | sort_by(-.value) | map(select(.value >= 0.5) | "\(.key) \(.value * 10 | round / 10)%") | join(", ");

def kb: if . == null then "–" else "\(. / 1024 * 10 | round / 10) MB" end;


(
# Problems the numbers themselves show: a stream whose reads stall for much
# longer through seam than direct means seam holds events back.
([ $scenarios[] | select(.name | startswith("stream")) | .name as $sc
   | values($sc; "direct"; .max_gap.p50) as $d | values($sc; "seam"; .max_gap.p50) as $s
   | ([$d | keys[] as $k | select($s[$k] != null and $d[$k] != null) | $s[$k] - $d[$k]] | median) as $add
   | select($add != null and $add > 5000)
   | {kind: "stream stalls",
      detail: "\($sc): through seam the longest wait between two reads of a stream is \($add / 1000 | . * 10 | round / 10) ms longer than direct (median over repetitions; p50 across streams: direct \([$d[] | select(. != null)] | median / 1000 | . * 10 | round / 10) ms, seam \([$s[] | select(. != null)] | median / 1000 | . * 10 | round / 10) ms). seam holds stream events back instead of passing each on as it arrives; a stall near 40 ms on keep-alive connections is the signature of Nagle's algorithm meeting delayed ACKs (TCP_NODELAY not set on the client socket)."}
 ]) as $findings
|
"# seam benchmark: added latency (issue 2)",
"",
"Generated by `bench/run.sh` on \($date) in \($elapsed) s. Raw results: `\($out)/` (not committed).",
"",
"seam sits between the load generator and a fake OpenAI upstream; the same",
"load is sent straight to the upstream (**direct**, the floor) and through",
"seam (**seam**), alternately, \($reps) repetitions. *Added* is seam − direct",
"per repetition; the tables give the median across repetitions and, in",
"parentheses, the smallest and largest repetition.",
"",
"## Headline",
"",
"| scenario | metric | direct | seam | added (seam − direct) | seam / direct |",
"| --- | --- | ---: | ---: | ---: | ---: |",
( [ headline("nonstream-c1"; .latency.p50; "latency p50 (µs)"),
    headline("nonstream-c1"; .latency.p99; "latency p99 (µs)"),
    headline("nonstream-r1000"; .latency.p50; "latency p50 (µs)"),
    headline("nonstream-r1000"; .latency.p99; "latency p99 (µs)"),
    headline("nonstream-r1000"; .latency["p99.9"]; "latency p99.9 (µs)"),
    headline("stream-c1"; .ttfb.p50; "first byte p50 (µs)"),
    headline("stream-c1"; .ttfb.p99; "first byte p99 (µs)"),
    headline("stream-c1"; .latency.p50; "whole stream p50 (µs)"),
    headline("stream-paced-c4"; .ttfb.p50; "first byte p50 (µs)"),
    headline("stream-paced-c4"; .ttfb.p99; "first byte p99 (µs)"),
    headline("stream-paced-c4"; .latency.p50; "whole stream p50 (µs)"),
    headline("nonstream-c64"; .throughput_rps; "throughput (req/s)"),
    ([$results[] | select(.scenario == "nonstream-c64" and .target == "seam") | .cpu.seam_us_per_request | select(. != null)] | median
     | {what: "seam CPU per request (µs)", direct: null, seam: ., add: null, ratio: null}) ] as $h
  | [ ["nonstream-c1", "1 conn, non-stream"], ["nonstream-c1", ""],
      ["nonstream-r1000", "1000 req/s, non-stream"], ["nonstream-r1000", ""], ["nonstream-r1000", ""],
      ["stream-c1", "1 conn, stream at once"], ["stream-c1", ""], ["stream-c1", ""],
      ["stream-paced-c4", "4 conns, paced stream"], ["stream-paced-c4", ""], ["stream-paced-c4", ""],
      ["nonstream-c64", "64 conns, non-stream"], ["nonstream-c64", ""] ] as $names
  | range(0; $h | length) as $i
  | "| \($names[$i][1]) | \($h[$i].what) | \($h[$i].direct | num) | \($h[$i].seam | num) | \($h[$i].add | signed) | \($h[$i].ratio | ratio) |"),
"",
( if $callgrind != null then
    "seam's own cost, counted in instructions (callgrind, immune to the machine's noise): **\($callgrind.nonstream.per_request | round | thousands) instructions per non-stream request, \($callgrind.stream.per_request | round | thousands) per stream** (see [Instructions per request](#instructions-per-request)).",
    ""
  else empty end ),
( [$results[] | .cpu | select(. != null) | (.seconds_all_cpus / ($nproc | tonumber)) as $wall | select($wall > 0) | .other_s / $wall * 100] as $other
  | if ($other | length) > 0 and ($other | median) > 25 then
      "**The machine was busy with other work during this run**: besides the load generator, seam and the upstream, something else used \($other | median | round)% of one CPU (median over runs; see the CPU line under each scenario)\(if ($other_procs // [] | length) > 0 then "; the busiest other processes over the scenarios: " + ($other_procs | map("`\(.name)` \(.cpu_pct)%") | join(", ")) else "" end). Latencies are inflated and noisy; the instruction counts and seam's CPU per request are the steadier figures.",
      ""
    else empty end ),
"seam memory: idle \($mem_idle.rss_kb | kb) RSS; after the load \(if $mem_after == null then "– (seam was not running)" else "\($mem_after.rss_kb | kb) RSS, peak \($mem_after.hwm_kb | kb) (VmHWM)" end).",
"",
( if ($events | length) == 0 and ($loglevels | length) == 0 and ($findings | length) == 0 then
    "No errors, crashes or stalls: every request in every run succeeded (status 2xx; streams ended with `data: [DONE]`)."
  else
    "**Problems seen: see [Errors and incidents](#errors-and-incidents).**"
  end ),
"",
"## Machine and versions",
"",
"- \($nproc) CPUs: \($cpu); \($mem) RAM; \($kernel); \($os). A shared virtual machine: expect noise, read the spreads.",
"- \($cc); libevent \($libevent); libcurl \($libcurl); \($wrkver).",
"- seam \($commit) (`CFLAGS=-O2 -g`); bench tools with `-O2 -g`.",
"",
"## Method",
"",
"- **Upstream** (`bench/upstream.c`): libevent evhttp, \($up_threads) threads on SO_REUSEPORT listeners; answers instantly: a fixed `chat.completion`, or \($chunks) content chunks in OpenAI's SSE framing (role chunk, content chunks, finish chunk, usage chunk, `data: [DONE]`), all written at once. It only walks the top level of the request body, so it is never the bottleneck. Its sockets set TCP_NODELAY, as production servers do. A second instance, *paced*, writes one stream event every \($pace_us) µs, as a model emitting tokens does; seam reaches it through a second backend pinned by the model name `bench-paced`.",
"- **seam**: \($workers) workers; one local backend (`provider: openai`) pointing at the upstream; requests carry `\"model\":\"auto\"` and `X-Seam-Sensitivity: internal`, so the policy routes every one to the local pool (rule `sensitive-stays-local`). Its access log goes to a file. Configuration below.",
"- **Load generator** (`bench/loadgen.c`): libcurl multi on epoll, keep-alive. Closed loop: C requests always in flight, latency from hand-off to libcurl to the last byte. Open loop: request i is due at t0 + i/R whatever happened before and its latency counts from that scheduled time (no coordinated omission); the loop busy-polls the last 100 µs before each send so sends leave on time (`send lag` in the tables). Time to first byte = first byte of the response body (for a stream: the role chunk). For streams it also records the longest wait between two reads of the body, which exposes events held back on the way. A request counts as an error if libcurl fails, the status is not 2xx, or a stream does not end with `data: [DONE]`.",
"- Each run: \($warm) s warm-up (not measured), then \($dur) s (\($rate_dur) s for the fixed-rate scenario). Targets alternate within a repetition (direct first in odd repetitions, seam first in even ones). Everything (load generator, seam, upstream) shares the same \($nproc) CPUs, unpinned.",
"- CPU accounting per run from `/proc/stat` and `/proc/<pid>/stat` (clock ticks): the load generator (getrusage), seam, the upstream, and *other* = every other busy tick of the machine (other processes, interrupt work not charged to a process). A high *other* marks a run disturbed by something else on the machine. *seam CPU per request* = seam's CPU time during a run / requests completed in it (warm-up included); it is far steadier than latency on a shared machine.",
"- Percentiles are nearest-rank over all measured requests of one run; p99.9 of the 1000 req/s runs rests on the few slowest of \($rate_dur | tonumber * 1000) requests.",
"",
"Smoke check before the load: non-stream status \($smoke_ns), stream status \($smoke_st); seam's headers: `\($smoke_headers)`.",
"",
"## Scenarios",
"",
( $scenarios[] as $sc
  | "### \($sc.title)",
    "",
    "`./loadgen --url <target> --warmup \($warm) \($sc.args)`; measured requests: direct \(requests_of($sc.name; "direct")), seam \(requests_of($sc.name; "seam")); errors: direct \(errors_of($sc.name; "direct")), seam \(errors_of($sc.name; "seam")).",
    "",
    "| metric | direct | seam | added (seam − direct) | seam / direct |",
    "| --- | ---: | ---: | ---: | ---: |",
    rows($sc.name),
    "| seam CPU per request (µs) | | \([values($sc.name; "seam"; .ok_total)] | length | if . == 0 then "–" else ([$results[] | select(.scenario == $sc.name and .target == "seam") | .cpu.seam_us_per_request | select(. != null)] | cell) end) | | |",
    "",
    "CPU used during the runs (median, % of one CPU): direct: \(cpu_line($sc.name; "direct")); seam: \(cpu_line($sc.name; "seam")).",
    "" ),
( if ($wrk | length) > 0 then
    "### Cross-check with wrk (throughput, 64 connections, one run each)",
    "",
    "`wrk -t2 -c64 -d\($dur)s --latency` with the same 1 KB request (a leaner client than loadgen, so it leaves more CPU to the server side).",
    "",
    "| target | req/s | p50 | p99 | non-2xx | socket errors |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
    ( $wrk[] | "| \(.target) | \(.rps | num) | \(.p50) | \(.p99) | \(.non2xx) | \(.socket_errors | if . == "" then "none" else . end) |" ),
    ""
  else empty end ),
( if $callgrind != null then
    "### Instructions per request",
    "",
    "seam alone under `valgrind --tool=callgrind` (same configuration, its own port), \($callgrind.n) requests of each kind one at a time after a discarded warm-up; counts cover everything seam's process executed in user space (seam and every library it calls), not the kernel.",
    "",
    "| request | instructions per request | where they go (shared object, ≥ 0.5%) |",
    "| --- | ---: | --- |",
    "| non-stream, 1 KB prompt | \($callgrind.nonstream.per_request | round | thousands) | \($callgrind.nonstream.by_object | objects) |",
    "| stream, 1 KB prompt, 16 chunks + usage | \($callgrind.stream.per_request | round | thousands) | \($callgrind.stream.by_object | objects) |",
    "",
    "Heaviest functions (own instructions; jansson ships without symbols, so its functions show as addresses):",
    "",
    "- non-stream: \($callgrind.nonstream.top // [] | join("; "))",
    "- stream: \($callgrind.stream.top // [] | join("; "))",
    "",
    "Heaviest named functions including what they call:",
    "",
    "- non-stream: \($callgrind.nonstream.inclusive // [] | join("; "))",
    "- stream: \($callgrind.stream.inclusive // [] | join("; "))",
    ""
  else empty end ),
"## Errors and incidents",
"",
( if ($events | length) == 0 and ($findings | length) == 0 then "None." else empty end ),
( $events[] | "- **\(.kind)**: \(.detail)" ),
( $findings[] | "- **\(.kind)**: \(.detail)" ),
"",
( if ($loglevels | length) > 0 then
    "seam log lines above `info`:",
    "",
    ( $loglevels[] | "- \(.level) ×\(.count): \(.msg)" ),
    ""
  else "seam logged nothing above `info`. seam was started \($starts) time(s).", "" end ),
"## Every run",
"",
"<details><summary>\($results | length) runs</summary>",
"",
"| scenario | target | rep | ok | errors | req/s | p50 | p99 | p99.9 | max | ttfb p50 | ttfb p99 |",
"| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
( $results | sort_by(.scenario, .rep, .target)[]
  | "| \(.scenario) | \(.target) | \(.rep) | \(.result.ok) | \(.result.errors) | \(.result.throughput_rps | num) | \(.result.latency.p50 | num) | \(.result.latency.p99 | num) | \(.result.latency["p99.9"] | num) | \(.result.latency.max | num) | \(.result.ttfb.p50 | num) | \(.result.ttfb.p99 | num) |" ),
"",
"</details>",
"",
"## seam configuration used",
"",
"```yaml",
$seam_yaml,
"```",
"",
"## Reproduce",
"",
"```sh",
"bench/run.sh                       # REPS=5 DUR=3 RATE_DUR=5 WARM=1 CALLGRIND=1 by default; under five minutes",
"bench/run.sh --report bench/out/<run>   # rewrite REPORT.md from the raw results of a run",
"make -C bench                      # just the tools: bench/upstream, bench/loadgen",
"bench/upstream --port 0 --threads 2 --chunks 16   # prints: listening <port>",
"bench/loadgen --url http://127.0.0.1:<port>/v1/chat/completions --rate 1000 --duration 10",
"```"

)
