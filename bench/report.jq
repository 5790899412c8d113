# report.jq: turns the results of bench/run.sh into bench/REPORT.md.
# Inputs (see run.sh): $meta (facts about the machine and the run, one
# object), $results_in [{scenario,target,rep,result,cpu}], $events, $wrk,
# $streams (the concurrent-streams runs), $startup (start-up runs), $rss
# (seam's RSS samples during the streams), $plots (the plots directory).

$meta[0] as $m
| $results_in as $results
| ($m.targets // ["direct", "seam"]) as $targets
| ($targets | map(select(. != "direct"))) as $proxies
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
def ms: if . == null then "–" else "\(. / 1000 | num) ms" end;
def kb: if . == null then "–" else "\(. / 1024 * 10 | round / 10) MB" end;

# "median (min–max)" of a list of numbers.
def cell: if length == 0 then "–" else "\(median | num) (\(min | num)–\(max | num))" end;
def scell: if length == 0 then "–" else "\(median | signed) (\(min | signed)–\(max | signed))" end;

# The value of metric <path> for every repetition of <scenario> on <target>,
# as {rep: value}.
def values($sc; $target; path):
  [$results[] | select(.scenario == $sc and .target == $target)
   | {key: (.rep | tostring), value: (.result | path)}] | from_entries;
def present: [.[] | select(. != null)];
# target - direct, paired per repetition, as a list.
def added_list($sc; $t; path):
  values($sc; "direct"; path) as $d | values($sc; $t; path) as $s
  | [$d | keys[] as $k | select($s[$k] != null and $d[$k] != null) | $s[$k] - $d[$k]];
def added($sc; $t; path): added_list($sc; $t; path) | median;
def med($sc; $t; path): values($sc; $t; path) | present | median;
def cpu_per_req($sc; $t):
  [$results[] | select(.scenario == $sc and .target == $t) | .cpu.proxy_us_per_request | select(. != null)];
def has($sc; $t): [$results[] | select(.scenario == $sc and .target == $t)] | length > 0;

# A table row per metric: each target's median (spread), then each proxy's added.
def metric_row($sc; $lbl; path):
  "| \($lbl) | " + ([$targets[] as $t | values($sc; $t; path) | present | cell] | join(" | "))
  + " | " + ([$proxies[] as $t | added_list($sc; $t; path) | scell] | join(" | ")) + " |";
def table_head:
  "| metric | " + ($targets | join(" | ")) + " | " + ($proxies | map("added: \(.) − direct") | join(" | ")) + " |",
  "| --- | " + ($targets | map("---:") | join(" | ")) + " | " + ($proxies | map("---:") | join(" | ")) + " |";

def latency_rows($sc; $what; $name):
  metric_row($sc; "\($name) p50"; .[$what].p50),
  metric_row($sc; "\($name) p90"; .[$what].p90),
  metric_row($sc; "\($name) p99"; .[$what].p99),
  metric_row($sc; "\($name) p99.9"; .[$what]["p99.9"]),
  metric_row($sc; "\($name) max"; .[$what].max);

def rows($sc):
  if $sc | startswith("stream") then
    latency_rows($sc; "ttft"; "time to first token (µs)"),
    latency_rows($sc; "ttfb"; "time to first byte (µs)"),
    latency_rows($sc; "latency"; "total stream time (µs)"),
    metric_row($sc; "longest gap between stream reads p50 (µs)"; .max_gap.p50),
    metric_row($sc; "throughput (req/s)"; .throughput_rps)
  elif $sc | test("-r[0-9]+$") then
    latency_rows($sc; "latency"; "latency (µs)"),
    metric_row($sc; "achieved rate (req/s)"; .throughput_rps),
    metric_row($sc; "errors"; .errors),
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
   | (.seconds_all_cpus / ($m.nproc | tonumber)) as $wall
   | select($wall > 0)
   | {loadgen: (.loadgen_s / $wall * 100), proxy: (.proxy_s / $wall * 100),
      upstream: (.upstream_s / $wall * 100), other: (.other_s / $wall * 100),
      steal: (.steal_s / $wall * 100)}] as $r
  | if ($r | length) == 0 then "–" else
    "loadgen \($r | map(.loadgen) | median | round)%, "
    + (if $target != "direct" then "\($target) \($r | map(.proxy) | median | round)%, " else "" end)
    + "upstream \($r | map(.upstream) | median | round)%, other \($r | map(.other) | median | round)%, steal \($r | map(.steal) | median | round)%"
  end;

def errors_of($sc; $target):
  [$results[] | select(.scenario == $sc and .target == $target) | .result.errors] | add // 0;
def requests_of($sc; $target):
  [$results[] | select(.scenario == $sc and .target == $target) | .result.ok] | add // 0;

def thousands: tostring | [scan("[0-9]+")] | .[0] | (length % 3) as $r
  | [.[0:$r]] + [range($r; length; 3) as $i | .[$i:$i + 3]] | map(select(. != "")) | join(",");
def objects: to_entries | sort_by(-.value) | map(select(.value >= 0.5) | "\(.key) \(.value * 10 | round / 10)%") | join(", ");

# pass/fail cell
def verdict($ok): if $ok == null then "not measured" elif $ok then "**pass**" else "**MISSED**" end;
def div($a; $b): if $a == null or $b == null or $b == 0 then null else $a / $b end;
# How many times lower seam's added latency is than another's; an added
# latency under 1 µs (lost in the noise, or negative) counts as 1 µs.
def lower($other; $seam): if $other == null or $seam == null then null else $other / ([$seam, 1] | max) end;

# ---- derived figures ------------------------------------------------------
(added("nonstream-r1000"; "seam"; .latency.p50)) as $s1k50
| (added("nonstream-r1000"; "seam"; .latency.p99)) as $s1k99
| (added("nonstream-r1000"; "portkey"; .latency.p50)) as $p1k50
| (added("nonstream-r1000"; "portkey"; .latency.p99)) as $p1k99
| (added("nonstream-r1000"; "nginx"; .latency.p50)) as $n1k50
| (added("nonstream-r1000"; "nginx"; .latency.p99)) as $n1k99
| (med("nonstream-c64"; "seam"; .throughput_rps)) as $s_tp
| (med("nonstream-c64"; "portkey"; .throughput_rps)) as $p_tp
| (med("nonstream-c64"; "nginx"; .throughput_rps)) as $n_tp
| (med("nonstream-c64"; "direct"; .throughput_rps)) as $d_tp
| (added("stream-paced-c4"; "seam"; (.ttft // .ttfb).p50)) as $s_ttft
| (added("stream-paced-c4"; "portkey"; (.ttft // .ttfb).p50)) as $p_ttft
| (added("stream-paced-c4"; "nginx"; (.ttft // .ttfb).p50)) as $n_ttft
| ([$streams[] | select(.target == "seam")] | first) as $st_seam
| ([$streams[] | select(.target == "direct")] | first) as $st_direct
| ([$rss[] | .rss_kb] | if length > 0 then {peak: max, median: median, n: length} else null end) as $rss_stats
| ($m.sizes // []) as $sizes
| ([$sizes[] as $s | {size: $s, add: added("size-\($s)"; "seam"; .latency.p50)} | select(.add != null)]) as $seam_sizes
| ($seam_sizes | map(select(.size == 1048576)) | first | .add // null) as $s_1m
# least-squares line through (size, added p50) of seam, and its R²
| (if ($seam_sizes | length) >= 3 then
     ($seam_sizes | length) as $n | ($seam_sizes | map(.size) | add / $n) as $mx | ($seam_sizes | map(.add) | add / $n) as $my
     | ($seam_sizes | map((.size - $mx) * (.add - $my)) | add) as $sxy | ($seam_sizes | map((.size - $mx) * (.size - $mx)) | add) as $sxx
     | ($seam_sizes | map((.add - $my) * (.add - $my)) | add) as $syy
     | {slope_us_per_mb: ($sxy / $sxx * 1048576), r2: (if $syy > 0 then $sxy * $sxy / ($sxx * $syy) else 1 end)}
   else null end) as $fit
| ([$startup[] | select(.target == "seam")]) as $su_seam
| ([$startup[] | select(.target == "nginx")]) as $su_nginx
| ([$startup[] | select(.target == "portkey")]) as $su_portkey
| ($su_seam | map(.ready_us) | median) as $s_ready
| ($su_seam | map(.rss_kb) | median) as $s_idle
|

# Problems the numbers themselves show: a stream whose reads stall for much
# longer through seam than direct means seam holds events back.
([ $m.scenarios[] | select(.name | startswith("stream")) | .name as $sc
   | added($sc; "seam"; .max_gap.p50) as $add
   | select($add != null and $add > 5000)
   | {kind: "stream stalls",
      detail: "\($sc): through seam the longest wait between two reads of a stream is \($add / 1000 | . * 10 | round / 10) ms longer than direct (median over repetitions). seam holds stream events back instead of passing each on as it arrives."}
 ]
 + (if $st_seam != null and $st_direct != null and ($st_seam.result.ttfb.p50 - $st_direct.result.ttfb.p50) > 500000 then
     [{kind: "first stream event held back (by design)",
       detail: "in the concurrent-streams run (one event a second) the first byte of a stream reached the client \($st_seam.result.ttfb.p50 | ms) after the request through seam (p50) against \($st_direct.result.ttfb.p50 | ms) direct: seam passes on the upstream's first event (the role chunk, `delta: {role: assistant, content: \"\"}`) together with the first content token, because until a token has reached the client a failed stream is retried on another backend without the client noticing (README, resilience). Time to first token, what a user sees, is what the streaming target measures: \($st_seam.result.ttft.p50 // null | if . == null then "–" else ms end) through seam against \($st_direct.result.ttft.p50 // null | if . == null then "–" else ms end) direct."}]
   else [] end)) as $findings
|

"# seam benchmark: seam against direct, nginx and Portkey's gateway",
"",
"Generated by `bench/run.sh` (`make bench`) on \($m.date) in **\($m.elapsed) s** (builds and dependency checks included). Raw results: `\($m.out)/` (not committed).",
"",
"One fake OpenAI upstream, one load generator, four ways to reach the upstream, measured in the same run, alternately, \($m.reps) repetitions:",
"**direct** (loadgen → upstream: the floor), **nginx** (\($m.nginx), plain `proxy_pass`), **seam** (policy, detector, ledger and audit log on, as users run it) and **portkey** (`@portkey-ai/gateway` \($m.portkey) on Node \($m.node)). *Added* is target − direct, paired per repetition; tables give the median across repetitions and, in parentheses, the smallest and largest repetition.",
"",
"## Targets of the issue, checked",
"",
"| target | measured | verdict |",
"| --- | --- | --- |",
"| added latency at 1,000 req/s, 1 KB, detector on: p50 ≤ 50 µs | seam \($s1k50 | signed) µs | \(verdict(if $s1k50 == null then null else $s1k50 <= 50 end)) |",
"| added latency at 1,000 req/s: p99 ≤ 300 µs | seam \($s1k99 | signed) µs | \(verdict(if $s1k99 == null then null else $s1k99 <= 300 end)) |",
"| added latency ≥ 10× lower than Portkey's (same run, 1,000 req/s) | p50: Portkey \($p1k50 | signed) µs vs seam \($s1k50 | signed) µs = \(lower($p1k50; $s1k50) | ratio); p99: Portkey \($p1k99 | signed) vs seam \($s1k99 | signed) µs = \(lower($p1k99; $s1k99) | ratio) (Portkey achieved \(med("nonstream-r1000"; "portkey"; .throughput_rps) | num) of 1,000 req/s) | \(verdict(if lower($p1k50; $s1k50) == null or lower($p1k99; $s1k99) == null then null else (lower($p1k50; $s1k50) >= 10 and lower($p1k99; $s1k99) >= 10) end)) |",
"| throughput ≥ 5× Portkey's | seam \($s_tp | num) req/s, Portkey \($p_tp | num) req/s = \(div($s_tp; $p_tp) | ratio) | \(verdict(if div($s_tp; $p_tp) == null then null else div($s_tp; $p_tp) >= 5 end)) |",
"| throughput ≥ 50% of nginx `proxy_pass` | seam \($s_tp | num), nginx \($n_tp | num) req/s = \(div($s_tp; $n_tp) * 100 // null | num)% | \(verdict(if div($s_tp; $n_tp) == null then null else div($s_tp; $n_tp) >= 0.5 end)) |",
"| streaming: added time to first token p50 ≤ 100 µs | seam \($s_ttft | signed) µs to the first content token of a paced stream (one event a millisecond), 4 connections | \(verdict(if $s_ttft == null then null else $s_ttft <= 100 end)) |",
"| \($m.streams) concurrent streams, none lost | \(if $st_seam == null then "not run" else "\($st_seam.result.verified) of \($m.streams) complete and intact, \($st_seam.result.errors) errors" end) | \(verdict(if $st_seam == null then null else ($st_seam.result.verified == ($m.streams | tonumber) and $st_seam.result.errors == 0) end)) |",
"| \($m.streams) concurrent streams: seam RSS ≤ 200 MB | peak \($rss_stats.peak // null | kb), median \($rss_stats.median // null | kb) | \(verdict(if $rss_stats == null then null else $rss_stats.peak <= 204800 end)) |",
"| 1 MB prompt: ≤ 5 ms added, scanning included | seam +\($s_1m | ms) (p50) | \(verdict(if $s_1m == null then null else $s_1m <= 5000 end)) |",
"| 1 MB prompt: growth linear in size | \(if $fit == null then "–" else "least-squares line \($fit.slope_us_per_mb | num) µs per MB, R² = \($fit.r2 * 1000 | round / 1000)" end) | \(verdict(if $fit == null then null else $fit.r2 >= 0.9 end)) |",
"| idle RSS ≤ 10 MB | seam \($s_idle | kb) (median of \($su_seam | length) starts; \($su_seam | map(.anon_kb // null) | if all(. == null) then "–" else (map(select(. != null)) | median | kb) end) of it private, the rest shared-library pages) | \(verdict(if $s_idle == null then null else $s_idle <= 10240 end)) |",
"| ready ≤ 50 ms after start | seam \($s_ready | ms) exec → `/readyz` 200 (median) | \(verdict(if $s_ready == null then null else $s_ready <= 50000 end)) |",
"",
"## Headline ratios",
"",
"- Added latency at 1,000 req/s (1 KB prompt, non-stream), p50: seam \($s1k50 | signed) µs, nginx \($n1k50 | signed) µs, Portkey \($p1k50 | signed) µs; p99: seam \($s1k99 | signed) µs, nginx \($n1k99 | signed) µs, Portkey \($p1k99 | signed) µs. seam adds **\(lower($p1k50; $s1k50) | ratio) less than Portkey** at p50 (\(lower($p1k99; $s1k99) | ratio) at p99; Portkey achieved \(med("nonstream-r1000"; "portkey"; .throughput_rps) | num) of the 1,000 req/s offered, so its latency is mostly queueing) and \(div($s1k50; $n1k50) | ratio) nginx's added p50.",
"- Throughput with an instant upstream (64 connections, 2 workers each for seam and nginx, one Node process for Portkey): seam \($s_tp | num) req/s = **\(div($s_tp; $p_tp) | ratio) Portkey's** (\($p_tp | num)) and **\(div($s_tp; $n_tp) * 100 // null | num)% of nginx's** (\($n_tp | num)); direct \($d_tp | num).",
"- CPU per request at 64 connections: seam \(cpu_per_req("nonstream-c64"; "seam") | median | num) µs, nginx \(cpu_per_req("nonstream-c64"; "nginx") | median | num) µs, Portkey \(cpu_per_req("nonstream-c64"; "portkey") | median | num) µs (process CPU time / requests; steadier than latency on a shared machine).",
"- Added time to first token of a paced stream, p50: seam +\($s_ttft | num) µs, nginx +\($n_ttft | num) µs, Portkey +\($p_ttft | num) µs (Portkey waits 25 ms before the first chunk by design, see Method).",
"",
( if $m.callgrind != null then
    "seam's own cost in instructions (callgrind): **\($m.callgrind.nonstream.per_request | round | thousands) per non-stream request, \($m.callgrind.stream.per_request | round | thousands) per stream** ([details](#instructions-per-request)).",
    ""
  else empty end ),
( [$results[] | .cpu | select(. != null) | (.seconds_all_cpus / ($m.nproc | tonumber)) as $wall | select($wall > 0) | .other_s / $wall * 100] as $other
  | if ($other | length) > 0 and ($other | median) > 25 then
      "**The machine was busy with other work during this run**: besides the load generator, the target and the upstream, something else used \($other | median | round)% of one CPU (median over runs)\(if ($m.other_procs // [] | length) > 0 then "; the busiest other processes: " + ($m.other_procs | map("`\(.name)` \(.cpu_pct)%") | join(", ")) else "" end). Latencies are inflated and noisy; CPU per request and the instruction counts are steadier.",
      ""
    else empty end ),
( if ($events | length) == 0 and ($m.loglevels | length) == 0 and ($findings | length) == 0 then
    "No errors, crashes or stalls: every request in every run succeeded."
  else
    "**Problems seen: see [Errors and incidents](#errors-and-incidents)** (Portkey falling behind at 5,000 req/s shows there as timeouts)."
  end ),
"",
"## Plots",
"",
"![Added latency at 1,000 and 5,000 req/s](\($plots)/added-latency.png)",
"",
"![Maximum throughput](\($plots)/throughput.png)",
"",
"![Added latency against prompt size](\($plots)/prompt-size.png)",
"",
"![Policy rules and custom words](\($plots)/policy-words.png)",
"",
"![seam RSS during the concurrent streams](\($plots)/streams-rss.png)",
"",
"## Machine and versions",
"",
"- \($m.nproc) CPUs: \($m.cpu); \($m.mem) RAM; \($m.kernel); \($m.os). A shared virtual machine: the load generator, the target and the upstream share the same \($m.nproc) CPUs, unpinned. Expect noise; read the spreads.",
"- \($m.cc); libevent \($m.libevent); libcurl \($m.libcurl); \($m.wrkver); \($m.gnuplot); open files limit (ulimit -n) \($m.nofile).",
"- seam \($m.commit) (`CFLAGS=-O2 -g`); bench tools with `-O2 -g`.",
"- nginx: \($m.nginx) (Debian). Portkey: `@portkey-ai/gateway` \($m.portkey) (bench/package.json, installed with `npm ci --ignore-scripts`), Node \($m.node).",
"",
"## Method",
"",
"- **Upstream** (`bench/upstream.c`): libevent evhttp, \($m.up_threads) threads on SO_REUSEPORT listeners; answers instantly a fixed `chat.completion`, or \($m.chunks) content chunks in OpenAI's SSE framing (role chunk, content chunks, finish chunk, usage chunk, `data: [DONE]`) written at once. A second instance, *paced*, writes one stream event every \($m.pace_us) µs, as a model emitting tokens does; a third, *long*, one event a second for \($m.stream_hold) s (the concurrent-streams run).",
"- **seam**: \($m.workers) workers, the shipped `seam.yaml`'s three rules, the detector on (built-in detectors plus a custom word list), the ledger (SQLite, in the run directory) and the audit log (in the run directory) on; its log, one line per request, goes to a file. Requests carry `\"model\":\"auto\"` and `X-Seam-Sensitivity: internal` (rule `sensitive-stays-local`). Configuration below.",
"- **nginx**: its own instance (`nginx -p <dir> -c <conf> -g 'daemon off;'`), `worker_processes 2`, `proxy_pass` to an upstream block with `keepalive 64`, `proxy_http_version 1.1`, `proxy_set_header Connection \"\"`, `proxy_buffering off` (streams pass at once), bodies up to 32 MB kept in memory (`client_body_buffer_size 2m`); `access_log` to a file, one line per request, like seam's log. Configuration below.",
"- **Portkey**: one Node process (`node --import ./portkey-shim.mjs node_modules/@portkey-ai/gateway/build/start-server.js --port=N --headless`, `TRUSTED_CUSTOM_HOSTS=localhost,127.0.0.1`), its output to a log file. Requests add `x-portkey-provider: openai`, `x-portkey-custom-host: http://127.0.0.1:<upstream>/v1` and `Authorization: Bearer bench`. **Shim**: without `bench/portkey-shim.mjs` its streams fail on Node 20 with `TypeError: immutable` (Portkey-AI/gateway#1389, #1550; fix proposed in PR #1551); the shim wraps `fetch` so the upstream response's headers are mutable, which adds one `Response` and one `Headers` copy per request to Portkey's cost. Portkey is a single process (Node's event loop): in the throughput scenario it has one core's worth of work where seam and nginx have two workers. Its streaming path waits **25 ms before passing on the first chunk** by design (`setTimeout(…, 25)` in its stream transformer in `build/start-server.js`, checked in 1.15.2), which is most of its added time to first byte.",
"- **Load generator** (`bench/loadgen.c`): libcurl multi on epoll, keep-alive. Closed loop: C requests always in flight, latency from hand-off to libcurl to the last byte. Open loop: request i is due at t0 + i/R and its latency counts from that scheduled time (no coordinated omission), at most 64 connections and a 3 s timeout, so a target that falls behind ends its run in bounded time with its achieved rate and errors reported. Time to first byte = first byte of the response body (for a stream: the role chunk, the first event). A request counts as an error if libcurl fails, the status is not 2xx, or a stream does not end with `data: [DONE]`; in the concurrent-streams run each stream is also checked whole (`--expect-content`: the `delta.content` of its events joined must equal the upstream's text, and a `finish_reason: stop` must arrive).",
"- Each run: \($m.warm) s warm-up (not measured), then \($m.dur) s closed loop or \($m.rate_dur) s open loop; prompt-size runs \($m.size_dur) s; policy/words runs \($m.sweep_dur) s. Targets alternate within a repetition (order reversed every other repetition).",
"- CPU accounting per run from `/proc/stat` and `/proc/<pid>/stat`: the load generator, the target's processes (nginx: master and workers), the upstreams, and *other* (everything else busy). *CPU per request* = the target's CPU time during a run / requests completed in it (warm-up included).",
"- Percentiles are nearest-rank over all measured requests of one run; p99.9 of an open-loop run rests on the few slowest of its requests.",
"",
"Smoke check before the load (status of one non-stream and one stream request per target): \($m.smoke | to_entries | map("\(.key) \(.value.nonstream)/\(.value.stream)") | join(", ")); seam's headers: `\($m.smoke_headers)`.",
"",
"## 1–3. Latency, throughput, streaming",
"",
( $m.scenarios[] as $sc
  | "### \($sc.title)",
    "",
    "`./loadgen --url <target> \($sc.args)`; measured requests: \([$targets[] as $t | "\($t) \(requests_of($sc.name; $t))"] | join(", ")); errors: \([$targets[] as $t | "\($t) \(errors_of($sc.name; $t))"] | join(", ")).",
    "",
    table_head,
    rows($sc.name),
    "| CPU per request (µs) | – | " + ([$proxies[] as $t | cpu_per_req($sc.name; $t) | cell] | join(" | ")) + " |" + ([$proxies[] | ""] | join(" |")) + " |",
    "",
    "CPU used (median, % of one CPU): " + ([$targets[] as $t | "\($t): \(cpu_line($sc.name; $t))"] | join("; ")) + ".",
    "" ),
( if ($wrk | length) > 0 then
    "### Cross-check with wrk (throughput, 64 connections, one run each)",
    "",
    "`wrk -t2 -c64 -d\($m.dur)s --latency` with the same 1 KB request (a leaner client than loadgen, so it leaves more CPU to the server side).",
    "",
    "| target | req/s | p50 | p99 | non-2xx | socket errors |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
    ( $wrk[] | "| \(.target) | \(.rps | num) | \(.p50) | \(.p99) | \(.non2xx) | \(.socket_errors | if . == "" then "none" else . end) |" ),
    ""
  else empty end ),
"## 4. \($m.streams) concurrent streams held for \($m.stream_hold) s",
"",
( if ($m.nofile | tonumber? // 1e9) < 2 * ($m.streams | tonumber) + 100 then
    "**Descriptor limit**: `ulimit -n` was \($m.nofile) and could not be raised on this machine (no CAP_SYS_RESOURCE), while \($m.streams) streams through seam need \(2 * ($m.streams | tonumber)) sockets in seam alone (one to the client, one to the upstream per stream) plus its listeners, ledger and log. Streams beyond the limit fail for that reason, not for a fault of seam's own; see the first error below.",
    ""
  else empty end ),
"Opened at \($m.streams | tonumber / 5 | round) per second (open loop: all open after 5 s), each a stream of \($m.stream_hold) events one second apart from the *long* upstream, checked whole. Run once; direct is the control.",
"",
"| target | streams | complete and intact | errors | first error | time to first byte p50 / p99 | stream time p50 / max | longest gap p99 | target CPU |",
"| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
( $streams[] | "| \(.target) | \(.result.requests) | \(.result.verified) | \(.result.errors) \(if .result.errors > 0 then "(" + (.result.error_kinds | to_entries | map(select(.value > 0) | "\(.key) \(.value)") | join(", ")) + ")" else "" end) | \(if .result.first_error == "" then "–" else .result.first_error end) | \(.result.ttfb.p50 | ms) / \(.result.ttfb.p99 | ms) | \(.result.latency.p50 | ms) / \(.result.latency.max | ms) | \(.result.max_gap.p99 | ms) | \(if .target == "direct" then "–" else "\(.proxy_cpu_s * 10 | round / 10) s" end) |" ),
"",
( if $rss_stats != null then
    "seam's RSS during the run, sampled every second (\($rss_stats.n) samples): **peak \($rss_stats.peak | kb), median \($rss_stats.median | kb)**; at most \([$rss[] | .fds] | max) open descriptors and \([$rss[] | .threads] | max) threads. After the run: \(if $m.stream_mem == null then "–" else "\($m.stream_mem.rss_kb | kb) RSS, VmHWM \($m.stream_mem.hwm_kb | kb)" end)."
  else "seam's RSS was not sampled (the run did not happen)." end ),
"",
"## 5. Prompt size",
"",
"Non-stream, 1 connection, closed loop, \($m.size_dur) s per run; added latency p50 (and p99) per target, µs.",
"",
"| prompt | direct p50 | " + ($proxies | map("\(.) added p50 | \(.) added p99") | join(" | ")) + " | seam CPU per request (µs) |",
"| ---: | ---: | " + ($proxies | map("---: | ---:") | join(" | ")) + " | ---: |",
( $sizes[] as $s | "size-\($s)" as $sc
  | "| \(if $s >= 1048576 then "\($s / 1048576) MB" else "\($s / 1024) KB" end) | \(med($sc; "direct"; .latency.p50) | num) | "
    + ([$proxies[] as $t | "\(added_list($sc; $t; .latency.p50) | scell) | \(added_list($sc; $t; .latency.p99) | scell)"] | join(" | "))
    + " | \(cpu_per_req($sc; "seam") | cell) |" ),
"",
( [$results[] | select(.scenario | startswith("size-")) | select(.result.errors > 0) | "\(.target) \(.scenario) rep \(.rep): \(.result.errors) errors (\(.result.first_error))"] as $e
  | if ($e | length) > 0 then "Errors in the prompt-size runs: " + ($e | join("; ")) + ".", "" else empty end ),
"## 6. Policy size and custom detector words",
"",
"seam restarted per configuration; N rules = N − 1 generated rules the request never matches (three shapes: `kind`+`complexity`, `tokens_gt`, `model`+`sensitivity`) followed by `sensitive-stays-local`, which it matches, so every rule is evaluated; W words in `detect.custom` (`words_file`), none of which occurs in the prompt. 1,000 req/s open loop, 1 KB prompt, \($m.sweep_dur) s per run, against direct in the same repetition.",
"",
"| rules | custom words | added p50 (µs) | added p99 (µs) | seam CPU per request (µs) | errors | start to listening | RSS after start |",
"| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
( $m.sweeps[] as $w | "policy-r\($w.rules)-w\($w.words)" as $sc
  | ([$m.sweep_starts[] | select(.sweep == $sc)] | first) as $st
  | "| \($w.rules) | \($w.words) | \(added_list($sc; "seam"; .latency.p50) | scell) | \(added_list($sc; "seam"; .latency.p99) | scell) | \(cpu_per_req($sc; "seam") | cell) | \(errors_of($sc; "seam")) | \($st.listening_ms // null | if . == null then "–" else "\(.) ms" end) | \($st.mem.rss_kb // null | kb) |" ),
"",
"## 7. Start-up and idle memory",
"",
"`bench/startup`: exec → first good answer, polled every millisecond; then one idle second and the RSS of the process tree (nginx: master and workers). seam: `GET /readyz` answering 200 (its backends probed); nginx: the first proxied answer (`GET /v1/models` through to the upstream); Portkey: the first answered chat completion.",
"",
"| target | starts | ready after (median, min–max) | idle RSS (median) | of which private (RssAnon) | processes |",
"| --- | ---: | ---: | ---: | ---: | ---: |",
( [["seam", $su_seam], ["nginx", $su_nginx], ["portkey", $su_portkey]][] | select(.[1] | length > 0)
  | "| \(.[0]) | \(.[1] | length) | \(.[1] | map(.ready_us) | median | ms) (\(.[1] | map(.ready_us) | min | ms)–\(.[1] | map(.ready_us) | max | ms)) | \(.[1] | map(.rss_kb) | median | kb) | \(.[1] | map(.anon_kb // null) | if all(. == null) then "–" else (map(select(. != null)) | median | kb) end) | \(.[1] | map(.processes) | median) |" ),
"",
"RSS counts every resident page of the shared libraries a process maps (libcrypto, libc, libhs, libsqlite3, libcurl and their dependencies make up most of seam's), pages that every process using those libraries shares; *private* is the process's own memory: heap, stacks, data.",
"",
"seam's RSS in the main run: idle \($m.mem_idle.rss_kb | kb) after start (the configuration with its detector database and ledger), \(if $m.mem_after == null then "–" else "\($m.mem_after.rss_kb | kb) after scenarios 1–3 and 5, VmHWM \($m.mem_after.hwm_kb | kb)" end).",
"",
( if $m.callgrind != null then
    "## 8. Instructions per request",
    "",
    "seam alone under `valgrind --tool=callgrind` (same configuration, its own port), \($m.callgrind.n) requests of each kind one at a time after a discarded warm-up; counts cover everything seam's process executed in user space (seam and every library it calls), not the kernel.",
    "",
    "| request | instructions per request | where they go (shared object, ≥ 0.5%) |",
    "| --- | ---: | --- |",
    "| non-stream, 1 KB prompt | \($m.callgrind.nonstream.per_request | round | thousands) | \($m.callgrind.nonstream.by_object | objects) |",
    "| stream, 1 KB prompt, 16 chunks + usage | \($m.callgrind.stream.per_request | round | thousands) | \($m.callgrind.stream.by_object | objects) |",
    "",
    "Heaviest functions (own instructions):",
    "",
    "- non-stream: \($m.callgrind.nonstream.top // [] | join("; "))",
    "- stream: \($m.callgrind.stream.top // [] | join("; "))",
    "",
    "Heaviest named functions including what they call:",
    "",
    "- non-stream: \($m.callgrind.nonstream.inclusive // [] | join("; "))",
    "- stream: \($m.callgrind.stream.inclusive // [] | join("; "))",
    ""
  else empty end ),
"## Errors and incidents",
"",
( if ($events | length) == 0 and ($findings | length) == 0 then "None." else empty end ),
( $events[] | "- **\(.kind)**: \(.detail)" ),
( $findings[] | "- **\(.kind)**: \(.detail)" ),
"",
( if ($m.loglevels | length) > 0 then
    "seam log lines above `info`:",
    "",
    ( $m.loglevels[] | "- \(.level) ×\(.count): \(.msg)" ),
    ""
  else "seam logged nothing above `info`. seam was started \($m.seam_starts) time(s) by run.sh (plus the start-up measurements).", "" end ),
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
"`<run>` is the run's directory; `words.txt` holds 10 words. The policy sweep's files differ only in `policy.rules` and the word list.",
"",
"```yaml",
$m.seam_yaml,
"```",
"",
"## nginx configuration used",
"",
"```nginx",
$m.nginx_conf,
"```",
"",
"## Reproduce",
"",
"```sh",
"make bench                               # bench/run.sh then the scanner report; about \($m.elapsed | tonumber / 60 | round) min",
"SEAM_REV=HEAD bench/run.sh               # measure a committed revision (exported and built on its own)",
"REPS=1 DUR=1 RATE_DUR=1 STREAMS=1000 STREAM_HOLD=10 CALLGRIND=0 bench/run.sh   # a quick look",
"bench/run.sh --report \($m.out)   # rewrite REPORT.md and the plots from the raw results",
"make -C bench                            # the tools: upstream, loadgen, startup",
"bench/upstream --port 0 --threads 2 --chunks 16   # prints: listening <port>",
"bench/loadgen --url http://127.0.0.1:<port>/v1/chat/completions --rate 1000 --duration 10",
"```"
