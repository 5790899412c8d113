#!/usr/bin/env node
// bench/soak.mjs: the soak run of issue 5. A bounded run (default 90 s of
// load, under 3 minutes in all) of mixed faults at a fixed request rate
// through every pool, then a report: requests sent vs accounted in the
// ledger (must be equal), errors by cause, seam's RSS at start and end, the
// added latency (client time minus the fake upstream's own service time),
// and the clearance invariant (no non-public request may reach the cloud
// fake, by its own check and by the ledger's).
//
//   node bench/soak.mjs [--rate 300] [--duration 90] [--report bench/SOAK_REPORT.md]
//   make -C bench soak
//
// SEAM_BIN picks the binary (default ./seam at the repository root; this
// script never builds it). Three fake OpenAI upstreams run in a child
// process (this script with --fakes): local-a and local-b (local) and
// frontier (cloud, clearance public). The load generator is an open loop:
// it starts requests at the fixed rate whatever the answers do, so a slow
// seam shows as latency, not as a lower rate. Faults come in phases (steady
// light faults, one local backend down, every local backend down, recovery,
// mid-stream chaos), chosen per upstream attempt by a seeded PRNG, so two
// runs inject the same faults. Raw results go to bench/out/soak-<time>/.
// Traffic stays on 127.0.0.1. Needs node >= 20 and the sqlite3 CLI.

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const CLOUD_KEY_ENV = 'SEAM_SOAK_CLOUD_KEY';

function args() {
  const o = { rate: 300, duration: 90, report: path.join(HERE, 'SOAK_REPORT.md'), seed: 5 };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '--fakes') o.fakes = true;
    else if (a[i] === '--rate') o.rate = Number(a[++i]);
    else if (a[i] === '--duration') o.duration = Number(a[++i]);
    else if (a[i] === '--report') o.report = path.resolve(a[++i]);
    else if (a[i] === '--seed') o.seed = Number(a[++i]);
    else if (a[i] === '--help') {
      console.log('usage: node bench/soak.mjs [--rate RPS] [--duration S] [--report FILE] [--seed N]');
      process.exit(0);
    }
  }
  return o;
}

/** mulberry32: a small seeded PRNG, so every run injects the same faults. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ------------------------------------------------------------------ phases
// Fault mixes, per upstream attempt: [probability, action(stream)] pairs;
// what is left over is a normal answer.
const LIGHT = [
  [0.01, () => ({ type: 'error', status: 503 })],
  [0.005, () => ({ type: 'error', status: 500 })],
  [0.005, () => ({ type: 'error', status: 429, headers: { 'retry-after': '1' } })],
  [0.005, () => ({ type: 'drop' })],
  [0.003, () => ({ type: 'hang' })],
  [0.003, (s) => ({ type: 'garbage', mode: s ? 'sse' : 'json', afterChunks: 1 })],
  [0.005, () => ({ type: 'reset', afterChunks: 1 })],
];
const DOWN = [[1, () => ({ type: 'error', status: 503 })]];
const DEAD = [[1, () => ({ type: 'drop' })]];
const STREAMY = [
  [0.04, () => ({ type: 'reset', afterChunks: 2 })],
  [0.02, () => ({ type: 'reset', afterChunks: 0 })],
  [0.02, () => ({ type: 'text', stallAfterChunks: 1, stallMs: 2000 })],
  [0.01, (s) => ({ type: 'garbage', mode: s ? 'sse' : 'json', afterChunks: 2 })],
  [0.01, () => ({ type: 'hang' })],
  [0.01, () => ({ type: 'stream-error', afterChunks: 2 })],
];
const PHASES = [
  { name: 'steady', share: 0.2, faults: { 'local-a': LIGHT, 'local-b': LIGHT, frontier: LIGHT } },
  { name: 'local-a down (503)', share: 0.2, faults: { 'local-a': DOWN, 'local-b': LIGHT, frontier: LIGHT } },
  { name: 'every local backend down (resets)', share: 0.1, faults: { 'local-a': DEAD, 'local-b': DEAD, frontier: LIGHT } },
  { name: 'recovery', share: 0.15, faults: { 'local-a': LIGHT, 'local-b': LIGHT, frontier: LIGHT } },
  { name: 'mid-stream chaos', share: 0.2, faults: { 'local-a': STREAMY, 'local-b': STREAMY, frontier: STREAMY } },
  { name: 'steady', share: 0.15, faults: { 'local-a': LIGHT, 'local-b': LIGHT, frontier: LIGHT } },
];

// Normal answers: 8 content chunks 4 ms apart when streamed; 20 ms when not.
const CONTENT = 'the quick brown fox jumps over the lazy dog again';
const NORMAL = (stream) => (stream ? { type: 'text', content: CONTENT, chunks: 8, delayMs: 4 } : { type: 'text', content: CONTENT, delayMs: 20 });

// ------------------------------------------------------------------ fakes (child)
async function runFakes(opt) {
  const { startFakeOpenAI } = await import(path.join(ROOT, 'tests/upstreams/fake-openai.mjs'));
  const rnd = prng(opt.seed * 7919);
  let phase = 0;
  const svc = new Map(); // marker -> {ms, attempts, ups}
  const actions = {};
  const fakes = {};
  const script = (fake) => (rec) => {
    const m = /\[(sid-[0-9a-z-]+)\]/.exec(rec.rawBody);
    const stream = rec.body?.stream === true;
    let a = null;
    const r = rnd();
    let acc = 0;
    for (const [p, f] of PHASES[phase].faults[fake.name] ?? []) {
      acc += p;
      if (r < acc) {
        a = f(stream);
        break;
      }
    }
    const base = NORMAL(stream);
    a = a ? { ...base, ...a } : base;
    const key = `${fake.name} ${a.type}${a.status ? ' ' + a.status : ''}${a.afterChunks !== undefined ? ' after ' + a.afterChunks : ''}${a.stallMs ? ' stall' : ''}`;
    actions[key] = (actions[key] ?? 0) + 1;
    if (m) {
      const t0 = process.hrtime.bigint();
      const s = svc.get(m[1]) ?? { ms: 0, attempts: 0, ups: [] };
      s.attempts++;
      s.ups.push(fake.name);
      svc.set(m[1], s);
      rec._res.on('close', () => {
        s.ms += Number(process.hrtime.bigint() - t0) / 1e6;
      });
    }
    return a;
  };
  for (const [name, clearance] of [
    ['local-a', null],
    ['local-b', null],
    ['frontier', 'public'],
  ]) {
    const f = await startFakeOpenAI({ name, model: name === 'frontier' ? 'gpt-5.1' : 'gemma4:31b', clearance });
    f.setScript(script(f));
    fakes[name] = f;
  }
  // Keep memory flat: the request logs are not needed (svc holds what is).
  setInterval(() => {
    for (const f of Object.values(fakes)) if (f.requests.length > 2000) f.requests.splice(0, f.requests.length - 200);
  }, 500).unref();
  process.stdout.write(JSON.stringify({ ready: true, urls: Object.fromEntries(Object.entries(fakes).map(([k, f]) => [k, f.url])) }) + '\n');
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const msg = JSON.parse(line);
    if (msg.phase !== undefined) phase = msg.phase;
    if (msg.dump) {
      const out = {
        actions,
        violations: fakes.frontier.violations.length,
        violationSamples: fakes.frontier.violations.slice(0, 5),
        svc: Object.fromEntries(svc),
      };
      fs.writeFileSync(msg.dump, JSON.stringify(out));
      process.stdout.write(JSON.stringify({ dumped: true }) + '\n');
    }
    if (msg.exit) break;
  }
  for (const f of Object.values(fakes)) f.abortPending();
  for (const f of Object.values(fakes)) await f.close();
  process.exit(0);
}

// ------------------------------------------------------------------ seam config
// Small local capacity, so that hangs and stalls saturate it now and then:
// public requests spill to the cloud, the others queue (or get a 429).
const MAX_CONC = 6;
function seamYaml(urls, db) {
  const b = (name, loc, model, extra = '') => `  - name: ${name}
    provider: openai
    url: ${urls[name]}
    location: ${loc}
    models: [${model}]
    health: { path: /v1/models, interval_ms: 2000 }
${extra}`;
  return `# soak config (generated by bench/soak.mjs)
listen: 127.0.0.1:0
workers: 2
limits: { max_body_bytes: 1048576, request_timeout_ms: 30000 }
state: { sqlite: ${db}, batch_ms: 200 }
timeouts: { connect_ms: 500, first_byte_ms: 1000, idle_ms: 500, total_ms: 5000 }
circuit: { failures: 100, window_ms: 5000, cooldown_ms: 1000, half_open_max: 2 }
backends:
${b('local-a', 'local', 'gemma4:31b', `    max_concurrency: ${MAX_CONC}\n`)}${b('local-b', 'local', 'gemma4:31b', `    max_concurrency: ${MAX_CONC}\n`)}${b('frontier', 'cloud', 'gpt-5.1', `    api_key_env: ${CLOUD_KEY_ENV}\n`)}pools:
  local: { backends: [local-a, local-b], strategy: least_outstanding, retries: 2, queue: { max: 32, timeout_ms: 1000 }, spill: cloud }
  cloud: { backends: [frontier], retries: 1 }
policy:
  rules:
    - { name: frontier-drafting, when: { kind: [draft], complexity: [high], sensitivity: [public] }, route: cloud, fallback: [local] }
    - { name: local-first, when: { sensitivity: [public] }, route: local, fallback: [cloud] }
    - { name: sensitive-stays-local, when: { sensitivity: [internal, regulated] }, route: local }
  default: local
`;
}

function rssKiB(pid, field = 'VmRSS') {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function pct(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function stats(values) {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return { n: s.length, p50: pct(s, 50), p90: pct(s, 90), p99: pct(s, 99), max: s.at(-1) ?? null };
}

function fmt(v, d = 1) {
  return v === null || v === undefined ? '–' : Number(v).toFixed(d);
}

// ------------------------------------------------------------------ main
async function main(opt) {
  const seamBin = path.resolve(process.env.SEAM_BIN || path.join(ROOT, 'seam'));
  fs.accessSync(seamBin, fs.constants.X_OK);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const outDir = path.join(HERE, 'out', `soak-${stamp}`);
  fs.mkdirSync(outDir, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seam-soak-'));
  const db = path.join(tmp, 'state.sqlite');

  // Fakes.
  const fakesProc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--fakes', '--seed', String(opt.seed)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const fakeLines = readline.createInterface({ input: fakesProc.stdout });
  const fakeMsgs = [];
  let fakeWake = null;
  fakeLines.on('line', (l) => {
    fakeMsgs.push(JSON.parse(l));
    fakeWake?.();
  });
  const fakeMsg = async (pred) => {
    for (;;) {
      const m = fakeMsgs.find(pred);
      if (m) return m;
      await new Promise((r) => (fakeWake = r));
    }
  };
  const { urls } = await fakeMsg((m) => m.ready);
  const tell = (o) => fakesProc.stdin.write(JSON.stringify(o) + '\n');

  // seam.
  const yaml = seamYaml(urls, db);
  const cfgFile = path.join(tmp, 'soak.yaml');
  fs.writeFileSync(cfgFile, yaml);
  const seam = spawn(seamBin, ['serve', '-c', cfgFile], { cwd: tmp, env: { ...process.env, [CLOUD_KEY_ENV]: 'sk-soak-cloud' }, stdio: ['ignore', 'ignore', 'pipe'] });
  const logLevels = {};
  const logSamples = [];
  let listen = null;
  let seamExit = null;
  const exited = new Promise((r) => seam.on('close', (code, signal) => r((seamExit = { code, signal }))));
  const seamLines = readline.createInterface({ input: seam.stderr });
  seamLines.on('line', (l) => {
    let o;
    try {
      o = JSON.parse(l);
    } catch {
      logLevels.text = (logLevels.text ?? 0) + 1;
      if (logSamples.length < 20) logSamples.push(l.slice(0, 300));
      return;
    }
    logLevels[o.level] = (logLevels[o.level] ?? 0) + 1;
    if (o.msg === 'listening') listen = o.listen;
    if ((o.level === 'error' || o.level === 'warn') && o.msg !== 'request' && logSamples.length < 20) logSamples.push(l.slice(0, 300));
  });
  const t0w = Date.now();
  while (!listen) {
    if (seamExit) throw new Error(`seam exited before listening: ${JSON.stringify(seamExit)}; ${logSamples.join('\n')}`);
    if (Date.now() - t0w > 10000) throw new Error('seam did not log "listening" within 10 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  const origin = `http://${listen}`;
  await new Promise((r) => setTimeout(r, 300)); // first health probes
  const rssStart = rssKiB(seam.pid);

  // Load.
  const rnd = prng(opt.seed);
  const results = [];
  let inflight = 0;
  let maxInflight = 0;
  let seq = 0;
  const classes = [
    [0.35, { cls: 'internal chat', sens: 'internal', kind: 'chat' }],
    [0.1, { cls: 'regulated chat', sens: 'regulated', kind: 'chat' }],
    [0.35, { cls: 'public chat', sens: 'public', kind: 'chat' }],
    [0.2, { cls: 'public draft (cloud first)', sens: 'public', kind: 'draft' }],
  ];
  async function one(phaseIdx) {
    let r = rnd();
    let c = classes[classes.length - 1][1];
    for (const [p, x] of classes) {
      if (r < p) {
        c = x;
        break;
      }
      r -= p;
    }
    const stream = rnd() < 0.35;
    const sid = `sid-${(++seq).toString(36)}-${Math.floor(rnd() * 1e9).toString(36)}`;
    const rec = { sid, cls: c.cls, sens: c.sens, stream, phase: phaseIdx, t0: performance.now(), ms: null, status: null, id: null, attempts: null, backend: null, fallbackFrom: null, reason: null, outcome: null, cause: null, message: null };
    results.push(rec);
    inflight++;
    maxInflight = Math.max(maxInflight, inflight);
    try {
      const res = await fetch(`${origin}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'X-Seam-Sensitivity': c.sens, 'X-Seam-Kind': c.kind, 'X-Seam-Complexity': 'high' },
        body: JSON.stringify({ model: 'auto', stream, messages: [{ role: 'user', content: `[sens:${c.sens}] [${sid}] soak request` }] }),
        signal: AbortSignal.timeout(20000),
      });
      rec.status = res.status;
      rec.id = res.headers.get('x-seam-request-id');
      rec.attempts = Number(res.headers.get('x-seam-attempts') ?? NaN);
      rec.backend = res.headers.get('x-seam-backend');
      rec.fallbackFrom = res.headers.get('x-seam-fallback-from');
      rec.reason = res.headers.get('x-seam-reason');
      const text = await res.text();
      if (!stream || res.status !== 200) {
        let j = null;
        try {
          j = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        if (res.status === 200 && j?.choices?.[0]?.message?.content === CONTENT) rec.outcome = 'ok';
        else if (res.status === 200) {
          rec.outcome = 'bad-200';
          rec.cause = `200 with a wrong body: ${text.slice(0, 80)}`;
        } else {
          rec.outcome = 'http-error';
          rec.cause = `${res.status} ${j?.error?.code ?? j?.error?.type ?? 'no error code'}`;
          rec.message = String(j?.error?.message ?? text).slice(0, 200);
        }
      } else {
        let content = '';
        let finish = null;
        let err = null;
        let done = false;
        for (const block of text.split('\n\n')) {
          const line = block.split('\n').find((l) => l.startsWith('data:'));
          if (!line) continue;
          const data = line.slice(5).trim();
          if (data === '[DONE]') {
            done = true;
            continue;
          }
          try {
            const o = JSON.parse(data);
            if (o.error) err = o.error;
            for (const ch of o.choices ?? []) {
              content += ch.delta?.content ?? '';
              if (ch.finish_reason) finish = ch.finish_reason;
            }
          } catch {
            err = err ?? { code: 'unparseable SSE reached the client' };
          }
        }
        if (err) {
          rec.outcome = done ? 'stream-error' : 'stream-error-no-done';
          rec.cause = `stream error event ${err.code ?? err.type ?? ''}${content ? ' after tokens' : ' before tokens'}`;
          rec.message = String(err.message ?? '').slice(0, 200);
        } else if (content === CONTENT && finish && done) rec.outcome = 'ok';
        else {
          rec.outcome = 'truncated';
          rec.cause = `stream ended without error: ${content.length} chars, finish ${finish}, [DONE] ${done}`;
        }
      }
    } catch (e) {
      rec.outcome = 'transport';
      rec.cause = `transport: ${e.cause?.code ?? e.name ?? e.message}`;
    }
    rec.ms = performance.now() - rec.t0;
    inflight--;
  }

  const start = performance.now();
  const durMs = opt.duration * 1000;
  const phaseEnds = [];
  let acc = 0;
  for (const p of PHASES) phaseEnds.push((acc += p.share) * durMs);
  let phase = 0;
  tell({ phase: 0 });
  const pending = new Set();
  let launched = 0;
  const rssSamples = [];
  let nextRss = 0;
  const phaseStart = [0];
  for (;;) {
    const now = performance.now() - start;
    if (now >= durMs) break;
    while (phase < PHASES.length - 1 && now >= phaseEnds[phase]) {
      phase++;
      phaseStart.push(now);
      tell({ phase });
    }
    if (now >= nextRss) {
      rssSamples.push({ s: now / 1000, kib: rssKiB(seam.pid), inflight });
      nextRss += 5000;
    }
    const due = Math.floor((now * opt.rate) / 1000);
    while (launched < due) {
      launched++;
      const p = one(phase);
      pending.add(p);
      p.finally(() => pending.delete(p));
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const loadMs = performance.now() - start;
  await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 25000))]);
  const rssEnd = rssKiB(seam.pid);
  const rssPeak = rssKiB(seam.pid, 'VmHWM');
  let metricsText = '';
  try {
    metricsText = await (await fetch(`${origin}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
  } catch {
    /* metrics may need a key */
  }
  const readyz = await (await fetch(`${origin}/readyz`, { signal: AbortSignal.timeout(3000) }).catch(() => null))?.json?.().catch(() => null);

  // Stop seam (SIGTERM flushes the ledger), then the fakes.
  const tStop = Date.now();
  seam.kill('SIGTERM');
  const killT = setTimeout(() => seam.kill('SIGKILL'), 20000);
  await exited;
  clearTimeout(killT);
  const stopMs = Date.now() - tStop;
  const dumpFile = path.join(outDir, 'fakes.json');
  tell({ dump: dumpFile });
  await fakeMsg((m) => m.dumped);
  tell({ exit: true });
  const fk = JSON.parse(fs.readFileSync(dumpFile, 'utf8'));

  // The ledger.
  const sql = (q) => execFileSync('sqlite3', ['-readonly', db, q], { encoding: 'utf8' }).trim();
  const ledgerRows = Number(sql('SELECT count(*) FROM requests'));
  const ledgerIds = new Set(sql('SELECT id FROM requests').split('\n').filter(Boolean));
  const ledgerByCause = sql("SELECT status, coalesce(error, '-'), count(*) FROM requests GROUP BY 1, 2 ORDER BY 3 DESC").split('\n').filter(Boolean).map((l) => l.split('|'));
  const ledgerCloudSensitive = Number(sql("SELECT count(*) FROM requests WHERE location = 'cloud' AND sensitivity <> 'public'"));
  const ledgerAttempts = sql('SELECT coalesce(attempts, -1), count(*) FROM requests GROUP BY 1 ORDER BY 1').split('\n').filter(Boolean).map((l) => l.split('|'));
  const ledgerFallbacks = sql("SELECT coalesce(fallback_from, '-'), backend, count(*) FROM requests WHERE fallback_from IS NOT NULL GROUP BY 1, 2 ORDER BY 3 DESC").split('\n').filter(Boolean).map((l) => l.split('|'));
  const ledgerSpills = Number(sql("SELECT count(*) FROM requests WHERE reason LIKE '%spill%'"));
  const gw = stats(sql('SELECT ms_gateway FROM requests WHERE status = 200 AND ms_gateway IS NOT NULL').split('\n').filter(Boolean).map(Number));
  fs.rmSync(tmp, { recursive: true, force: true });

  // Reconcile.
  const sent = results.length;
  const answered = results.filter((r) => r.status !== null).length;
  const clientIds = new Set(results.map((r) => r.id).filter(Boolean));
  const missingInLedger = [...clientIds].filter((id) => !ledgerIds.has(id));
  const notSeenByClient = [...ledgerIds].filter((id) => !clientIds.has(id)).length;
  const byCause = {};
  for (const r of results) if (r.outcome !== 'ok') byCause[r.cause] = (byCause[r.cause] ?? 0) + 1;
  const byClass = {};
  for (const r of results) {
    const k = r.cls;
    byClass[k] ??= { n: 0, ok: 0, status: {} };
    byClass[k].n++;
    if (r.outcome === 'ok') byClass[k].ok++;
    const s = r.outcome === 'transport' ? 'transport' : r.outcome === 'ok' ? String(r.status) : `${r.status} ${r.outcome}`;
    byClass[k].status[s] = (byClass[k].status[s] ?? 0) + 1;
  }
  const byPhase = PHASES.map((p, i) => {
    const rs = results.filter((r) => r.phase === i);
    return { name: p.name, n: rs.length, ok: rs.filter((r) => r.outcome === 'ok').length, fallback: rs.filter((r) => r.fallbackFrom).length, spill: rs.filter((r) => /spill/.test(r.reason ?? '')).length };
  });
  // Added latency: client time minus the fake's service time, for answers
  // that took one attempt (a retry's backoff is the gateway's choice, not
  // overhead) and for all successful answers.
  const added = (filter) => stats(results.filter(filter).map((r) => r.ms - (fk.svc[r.sid]?.ms ?? NaN)));
  const one1 = (r) => r.outcome === 'ok' && fk.svc[r.sid]?.attempts === 1;
  const addNon = added((r) => one1(r) && !r.stream);
  const addStream = added((r) => one1(r) && r.stream);
  const addAll = added((r) => r.outcome === 'ok');
  const clientOk = stats(results.filter((r) => r.outcome === 'ok').map((r) => r.ms));
  const cloudSensitiveClient = results.filter((r) => r.sens !== 'public' && (fk.svc[r.sid]?.ups ?? []).includes('frontier')).length;
  const silentTruncations = results.filter((r) => r.outcome === 'truncated' || r.outcome === 'bad-200' || r.outcome === 'stream-error-no-done').length;

  const raw = { opt, seamBin, sent, answered, launched, loadMs, maxInflight, ledgerRows, missingInLedger: missingInLedger.length, notSeenByClient, byCause, byClass, byPhase, ledgerByCause, ledgerCloudSensitive, ledgerAttempts, ledgerFallbacks, ledgerSpills, gw, addNon, addStream, addAll, clientOk, rssStart, rssEnd, rssPeak, rssSamples, seamExit, stopMs, logLevels, logSamples, fakes: { actions: fk.actions, violations: fk.violations, violationSamples: fk.violationSamples }, cloudSensitiveClient, silentTruncations, readyz };
  fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(raw, null, 1));
  fs.writeFileSync(path.join(outDir, 'requests.jsonl'), results.map((r) => JSON.stringify(r)).join('\n') + '\n');
  if (metricsText) fs.writeFileSync(path.join(outDir, 'metrics.txt'), metricsText);

  // Report.
  const rev = (() => {
    try {
      const c = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
      const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() ? ' with uncommitted changes in src/' : '';
      return `${c}${dirty}`;
    } catch {
      return 'unknown';
    }
  })();
  const cpu = (/model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8')) ?? [])[1] ?? 'unknown';
  const checks = [
    ['every request sent is accounted in the ledger (rows = requests sent)', ledgerRows === sent && missingInLedger.length === 0, `${sent} sent, ${ledgerRows} ledger rows, ${missingInLedger.length} answered ids missing from the ledger`],
    ['zero sensitive requests seen by the cloud fake', fk.violations === 0 && cloudSensitiveClient === 0, `${fk.violations} violations recorded by the cloud fake, ${cloudSensitiveClient} non-public requests with an attempt on frontier`],
    ['zero ledger rows with a non-public request served by the cloud', ledgerCloudSensitive === 0, `${ledgerCloudSensitive} rows`],
    ['no silently truncated success (every stream ends with finish+[DONE] or an error then [DONE])', silentTruncations === 0, `${silentTruncations} requests`],
    ['seam exits 0 on SIGTERM after the run', seamExit?.code === 0, JSON.stringify(seamExit)],
    ['spills are reported to the client (X-Seam-Reason) as in the ledger', results.filter((r) => /spill/.test(r.reason ?? '')).length === ledgerSpills, `${results.filter((r) => /spill/.test(r.reason ?? '')).length} answers with spill in X-Seam-Reason, ${ledgerSpills} ledger rows with spill in reason`],
    ['RSS growth under 32 MiB from start to end of load', rssEnd !== null && rssStart !== null && rssEnd - rssStart < 32 * 1024, `${fmt(rssStart / 1024)} → ${fmt(rssEnd / 1024)} MiB`],
  ];
  const L = [];
  L.push('# seam soak report');
  L.push('');
  L.push(`Generated by \`node bench/soak.mjs --rate ${opt.rate} --duration ${opt.duration} --seed ${opt.seed}\` on ${new Date().toISOString()}.`);
  L.push(`seam ${rev} (${path.relative(ROOT, seamBin) || seamBin}); ${os.cpus().length} CPUs (${cpu}); node ${process.version}. seam, the three fake upstreams (one child node process) and the load generator share the machine.`);
  L.push('');
  L.push('## Verdict');
  L.push('');
  L.push('| check | result | detail |');
  L.push('|---|---|---|');
  for (const [what, pass, detail] of checks) L.push(`| ${what} | ${pass ? 'PASS' : '**FAIL**'} | ${detail} |`);
  L.push('');
  L.push('## Method');
  L.push('');
  L.push(`An open-loop load generator starts ${opt.rate} requests/s for ${opt.duration} s (started ${launched}, over ${fmt(loadMs / 1000)} s: ${fmt(launched / (loadMs / 1000))} /s; at most ${maxInflight} in flight) against seam with two local OpenAI-compatible fakes (local-a, local-b, \`max_concurrency: ${MAX_CONC}\` each, a queue of 32 for 1 s, spill to the cloud) and one cloud fake (frontier, clearance public, which records any request tagged above public). Each request is tagged with its sensitivity in the text and declares it in \`X-Seam-Sensitivity\`; 35 % stream.`);
  L.push('');
  L.push('| class | share | route |');
  L.push('|---|---|---|');
  L.push('| internal chat | 35 % | local, no cloud fallback (clearance) |');
  L.push('| regulated chat | 10 % | local, no cloud fallback (clearance) |');
  L.push('| public chat | 35 % | local, fallback and spill to cloud |');
  L.push('| public draft, complexity high | 20 % | cloud, fallback to local |');
  L.push('');
  L.push('Faults are chosen per upstream attempt by a seeded PRNG, in phases:');
  L.push('');
  L.push('| phase | share of the run | local-a | local-b | frontier |');
  L.push('|---|---|---|---|---|');
  const mixName = (m) => (m === LIGHT ? 'light (~3.6 %: 503, 500, 429 Retry-After 1, reset before headers, hang, garbage, reset mid-stream)' : m === DOWN ? 'every answer 503' : m === DEAD ? 'every connection reset before headers' : m === STREAMY ? 'stream chaos (~11 %: reset after 0 or 2 chunks, 2 s stall, malformed SSE, hang, error event)' : '?');
  for (const p of PHASES) L.push(`| ${p.name} | ${Math.round(p.share * 100)} % | ${mixName(p.faults['local-a'])} | ${mixName(p.faults['local-b'])} | ${mixName(p.faults.frontier)} |`);
  L.push('');
  L.push('Normal answers: 8 SSE content chunks 4 ms apart, or one JSON body after 20 ms. The seam configuration:');
  L.push('');
  L.push('```yaml');
  L.push(yaml.replace(db, '<tmp>/state.sqlite').replace(/http:\/\/127\.0\.0\.1:\d+/g, 'http://127.0.0.1:<port>').trimEnd());
  L.push('```');
  L.push('');
  L.push('## Accounting');
  L.push('');
  L.push('| requests sent | answered with an HTTP status | transport failures | ledger rows (after SIGTERM) | answered ids missing from the ledger | ledger ids the client never saw |');
  L.push('|---|---|---|---|---|---|');
  L.push(`| ${sent} | ${answered} | ${sent - answered} | ${ledgerRows} | ${missingInLedger.length} | ${notSeenByClient} |`);
  L.push('');
  L.push('## Outcomes');
  L.push('');
  L.push('| class | requests | answered correctly | statuses |');
  L.push('|---|---|---|---|');
  for (const [k, v] of Object.entries(byClass)) L.push(`| ${k} | ${v.n} | ${v.ok} (${fmt((100 * v.ok) / v.n)} %) | ${Object.entries(v.status).sort((a, b) => b[1] - a[1]).map(([s, n]) => `${s}: ${n}`).join(', ')} |`);
  L.push('');
  L.push('| phase | requests | answered correctly | served by a fallback | spilled |');
  L.push('|---|---|---|---|---|');
  for (const p of byPhase) L.push(`| ${p.name} | ${p.n} | ${p.ok} (${fmt((100 * p.ok) / Math.max(1, p.n))} %) | ${p.fallback} | ${p.spill} |`);
  L.push('');
  L.push('### Errors by cause (client side)');
  L.push('');
  L.push('| cause | requests |');
  L.push('|---|---|');
  for (const [k, v] of Object.entries(byCause).sort((a, b) => b[1] - a[1])) L.push(`| ${k} | ${v} |`);
  if (Object.keys(byCause).length === 0) L.push('| (none) | 0 |');
  L.push('');
  const byMessage = new Map();
  for (const r of results) {
    if (r.outcome === 'ok') continue;
    const msg = (r.message ?? r.cause ?? '').replace(/\bseam-[0-9a-f]+\b/g, '<id>').replace(/\d+ bytes/g, 'N bytes').replace(/\|/g, '\\|');
    const k = JSON.stringify([r.status ?? 'transport', PHASES[r.phase].name, msg]);
    byMessage.set(k, (byMessage.get(k) ?? 0) + 1);
  }
  L.push('### The 15 most frequent error messages, by phase');
  L.push('');
  L.push('| status | phase | message | requests |');
  L.push('|---|---|---|---|');
  for (const [k, v] of [...byMessage].sort((a, b) => b[1] - a[1]).slice(0, 15)) L.push(`| ${JSON.parse(k).join(' | ')} | ${v} |`);
  L.push('');
  L.push('### Ledger: status and error');
  L.push('');
  L.push('| status | error | rows |');
  L.push('|---|---|---|');
  for (const [s, e, n] of ledgerByCause) L.push(`| ${s} | ${e} | ${n} |`);
  L.push('');
  L.push(`Attempts per request (ledger): ${ledgerAttempts.map(([a, n]) => `${a}: ${n}`).join(', ')}. Fallbacks (ledger fallback_from → backend): ${ledgerFallbacks.map(([f, b, n]) => `${f} → ${b}: ${n}`).join(', ') || 'none'}. Rows whose reason says spill: ${ledgerSpills}.`);
  L.push('');
  L.push('### Faults injected (upstream attempts, by action)');
  L.push('');
  L.push('| upstream action | attempts |');
  L.push('|---|---|');
  for (const [k, v] of Object.entries(fk.actions).sort()) L.push(`| ${k} | ${v} |`);
  L.push('');
  L.push('## Latency');
  L.push('');
  L.push('Added latency = the client\'s time to the end of the answer minus the fake upstream\'s own service time for that request (from its arrival at the fake to the end of the fake\'s answer). One-attempt answers measure the gateway\'s overhead; all answers also include retries, backoff, queueing and fallbacks.');
  L.push('');
  L.push('| what | n | p50 ms | p90 ms | p99 ms | max ms |');
  L.push('|---|---|---|---|---|---|');
  const row = (w, s) => L.push(`| ${w} | ${s.n} | ${fmt(s.p50, 2)} | ${fmt(s.p90, 2)} | ${fmt(s.p99, 2)} | ${fmt(s.max, 2)} |`);
  row('added, one attempt, non-stream', addNon);
  row('added, one attempt, stream', addStream);
  row('added, every correct answer', addAll);
  row('client total, every correct answer', clientOk);
  row('ledger ms_gateway (seam\'s own share), status 200', gw);
  L.push('');
  L.push('## Memory');
  L.push('');
  L.push(`seam VmRSS: ${fmt(rssStart / 1024)} MiB at the start of the load, ${fmt(rssEnd / 1024)} MiB at the end (after the last answers), peak (VmHWM) ${fmt(rssPeak / 1024)} MiB. Every 5 s: ${rssSamples.map((s) => `${fmt(s.s, 0)} s ${fmt(s.kib / 1024)} MiB (${s.inflight} in flight)`).join('; ')}.`);
  L.push('');
  L.push('## seam');
  L.push('');
  L.push(`Exit on SIGTERM: ${JSON.stringify(seamExit)} after ${stopMs} ms. Log lines by level: ${JSON.stringify(logLevels)}.`);
  if (logSamples.length) {
    L.push('');
    L.push('First warnings and errors (not request lines):');
    L.push('');
    L.push('```');
    for (const s of logSamples.slice(0, 10)) L.push(s);
    L.push('```');
  }
  L.push('');
  L.push(`Raw results: \`bench/out/soak-${stamp}/\` (results.json, requests.jsonl, fakes.json).`);
  fs.writeFileSync(opt.report, L.join('\n') + '\n');
  console.log(`soak: ${sent} sent, ${ledgerRows} ledger rows, ${Object.values(byCause).reduce((a, b) => a + b, 0)} not ok; wrote ${opt.report}`);
  for (const [what, pass, detail] of checks) console.log(`${pass ? 'PASS' : 'FAIL'} ${what}: ${detail}`);
  return checks.every((c) => c[1]) ? 0 : 1;
}

const opt = args();
if (opt.fakes) await runFakes(opt);
else process.exit(await main(opt));
