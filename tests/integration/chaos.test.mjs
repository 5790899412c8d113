// The chaos suite (issue 5): a real seam in front of two local fakes and a
// cloud fake that fail on command, driven by the official OpenAI SDK with
// its own retries off (maxRetries: 0), so every retry seen is seam's.
//
// For each fault it checks what the client sees (status, headers, how a
// stream ends), which upstreams were tried (the fakes' request logs), the
// circuit breakers afterwards (GET /readyz), capacity (max_concurrency,
// queue, spill, a disconnect freeing its slot), and that seam stays up
// (GET /healthz after every test) with stable memory (VmRSS over 500
// faulty requests). The cloud fake has clearance public: any request above
// it is recorded as a violation and fails the test that caused it.
//
// Every test starts its own seam (about 150 ms) so breaker state never
// leaks from one test into the next; the fakes are shared and reset.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import OpenAI from 'openai';
import { startSeam, startFakeOpenAI, rid, tagged, assertNoViolations, waitUntil, within, sleep, deadPort, parseSSE, CLOUD_KEY_ENV, LOCAL_MODEL, CLOUD_MODEL, SEAM_BIN } from './helpers.mjs';

// Under AddressSanitizer freed memory sits in a quarantine (hundreds of
// MiB) and RSS says nothing about what seam keeps: there the leak checker
// at exit is the memory test, and the RSS bounds below apply to the
// release build only.
const SANITIZED = /asan/i.test(SEAM_BIN);

// Short timeouts so faults resolve fast; the breaker opens after 3 failures.
const T = { connect_ms: 500, first_byte_ms: 800, idle_ms: 500, total_ms: 5000 };
const CIRCUIT = { failures: 3, window_ms: 10000, cooldown_ms: 1000, half_open_max: 1 };

let A; // local-a
let B; // local-b
let C; // frontier (cloud, clearance public)

// ------------------------------------------------------------------ plans
// A plan scripts one client request (found by its marker in the upstream
// body) across every attempt on every fake: attempt n (counted over all
// fakes) gets actions[n] (the last one repeats). An action may be a
// function (fakeName, n) -> action for per-backend behaviour. The plan's
// log lists every attempt: {up, n, at}.
const plans = new Map();

function plan(actions, id = rid()) {
  const p = { id, actions, n: 0, log: [] };
  plans.set(id, p);
  return p;
}

function ok(content = 'chaos ok', extra = {}) {
  return { type: 'text', content, ...extra };
}

function planScript(fake) {
  return (rec) => {
    if (!rec.rawBody) return null;
    for (const p of plans.values()) {
      if (!rec.rawBody.includes(p.id)) continue;
      const n = p.n++;
      p.log.push({ up: fake.name, n, at: Date.now(), rec });
      let a = p.actions[Math.min(n, p.actions.length - 1)];
      if (typeof a === 'function') a = a(fake.name, n);
      return a ?? null;
    }
    return null;
  };
}

// ------------------------------------------------------------------ config
function backendYaml(name, url, location, model, extra = '') {
  return `  - name: ${name}
    provider: openai
    url: ${url}
    location: ${location}
    models: [${model}]
    health: { path: /v1/models, interval_ms: 60000 }
${location === 'cloud' ? `    api_key_env: ${CLOUD_KEY_ENV}\n` : ''}${extra}`;
}

/**
 * The chaos config. opts: workers, aUrl (default A.url), aExtra / bExtra
 * (YAML lines under a backend), localPool (the flow map of pool local),
 * timeouts, circuit.
 */
function chaosConfig(opts = {}) {
  const t = { ...T, ...(opts.timeouts ?? {}) };
  const c = { ...CIRCUIT, ...(opts.circuit ?? {}) };
  const flow = (o) => `{ ${Object.entries(o).map(([k, v]) => `${k}: ${v}`).join(', ')} }`;
  return `# seam chaos test config (generated)
listen: 127.0.0.1:0
workers: ${opts.workers ?? 2}
limits: { max_body_bytes: 33554432, request_timeout_ms: 30000 }
timeouts: ${flow(t)}
circuit: ${flow(c)}
backends:
${backendYaml('local-a', opts.aUrl ?? A.url, 'local', LOCAL_MODEL, opts.aExtra ?? '')}${backendYaml('local-b', opts.bUrl ?? B.url, 'local', LOCAL_MODEL, opts.bExtra ?? '')}${backendYaml('frontier', C.url, 'cloud', CLOUD_MODEL)}pools:
  local: ${opts.localPool ?? '{ backends: [local-a, local-b], strategy: round_robin, retries: 2 }'}
  cloud: [frontier]
policy:
  rules:
    - { name: frontier-drafting, when: { kind: [draft], complexity: [high], sensitivity: [public] }, route: cloud, fallback: [local] }
    - { name: local-first, when: { sensitivity: [public, internal, regulated] }, route: local, fallback: [cloud] }
  default: local
`;
}

// ------------------------------------------------------------------ seam per test
let seam = null;

async function boot(opts) {
  seam = await startSeam(chaosConfig(opts));
  return seam;
}

function client() {
  return new OpenAI({ baseURL: seam.baseURL, apiKey: 'sk-chaos', maxRetries: 0, timeout: 12000 });
}

async function healthz() {
  const r = await fetch(`${seam.origin}/healthz`, { signal: AbortSignal.timeout(3000) });
  return r.status;
}

async function readyz() {
  const r = await fetch(`${seam.origin}/readyz`, { signal: AbortSignal.timeout(3000) });
  return { status: r.status, json: await r.json() };
}

/** The breaker of backend <name> in a /readyz body ({backends: [{name,
 *  circuit: closed|open|half_open, error, ...}]}): {state, error, raw}. */
function breaker(ready, name) {
  const b = (ready.json.backends ?? []).find((x) => x.name === name);
  assert.ok(b, `/readyz lists backend ${name}: ${JSON.stringify(ready.json)}`);
  return { state: b.circuit, error: b.error ?? null, raw: b };
}

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]);
}

// ------------------------------------------------------------------ requests
/** One request through the SDK. Resolves {status, headers, content, error, ms, events}. */
async function chat(p, { sens = 'public', stream = false, headers = {}, signal } = {}) {
  const t0 = Date.now();
  const body = { model: 'auto', messages: [{ role: 'user', content: tagged(sens, 'chaos', p.id) }] };
  if (stream) body.stream = true;
  const opts = { headers: { 'X-Seam-Sensitivity': sens, ...headers } };
  if (signal) opts.signal = signal;
  let response = null;
  let content = '';
  try {
    const r = await client().chat.completions.create(body, opts).withResponse();
    response = r.response;
    if (stream) {
      for await (const ch of r.data) for (const c of ch.choices ?? []) content += c.delta?.content ?? '';
    } else content = r.data.choices[0].message.content;
    return { status: response.status, headers: response.headers, content, error: null, ms: Date.now() - t0 };
  } catch (e) {
    return { status: e.status ?? response?.status ?? null, headers: e.headers ?? response?.headers ?? null, content, error: e, ms: Date.now() - t0 };
  }
}

/** One streamed request with fetch: the raw SSE, parsed. */
async function rawStream(p, { sens = 'public' } = {}) {
  const t0 = Date.now();
  const r = await fetch(`${seam.origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'X-Seam-Sensitivity': sens },
    body: JSON.stringify({ model: 'auto', stream: true, messages: [{ role: 'user', content: tagged(sens, 'chaos', p.id) }] }),
    signal: AbortSignal.timeout(12000),
  });
  // Read what arrives; a connection seam breaks off is recorded, not thrown.
  let text = '';
  let transportError = null;
  const dec = new TextDecoder();
  try {
    for await (const chunk of r.body) text += dec.decode(chunk, { stream: true });
  } catch (e) {
    transportError = String(e.cause?.code ?? e.message);
  }
  const events = parseSSE(text);
  let content = '';
  let finish = null;
  let errorObj = null;
  for (const e of events) {
    if (e.data === '[DONE]') continue;
    let o;
    try {
      o = JSON.parse(e.data);
    } catch {
      continue;
    }
    if (o.error) errorObj = o.error;
    for (const c of o.choices ?? []) {
      content += c.delta?.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  const done = events.length > 0 && events[events.length - 1].data === '[DONE]';
  return { status: r.status, headers: r.headers, text, events, content, finish, errorObj, done, transportError, ms: Date.now() - t0 };
}

function h(res, name) {
  return res.headers?.get?.(name) ?? null;
}

function describeRes(r) {
  const hs = {};
  if (r.headers?.forEach) r.headers.forEach((v, k) => k.startsWith('x-seam') || k === 'retry-after' ? (hs[k] = v) : null);
  return JSON.stringify({ status: r.status, headers: hs, content: r.content, error: r.error ? `${r.error.constructor.name}: ${r.error.message}` : null, errorObj: r.errorObj, done: r.done, finish: r.finish, transportError: r.transportError, ms: r.ms });
}

function attemptsHeader(r) {
  const v = h(r, 'x-seam-attempts');
  return v === null ? null : Number(v);
}

// ------------------------------------------------------------------ suite
describe('chaos: retries, fallbacks, breakers, timeouts, capacity', { timeout: 150000 }, () => {
  before(async () => {
    A = await startFakeOpenAI({ name: 'local-a', model: LOCAL_MODEL });
    B = await startFakeOpenAI({ name: 'local-b', model: LOCAL_MODEL });
    C = await startFakeOpenAI({ name: 'cloud', model: CLOUD_MODEL, clearance: 'public' });
    for (const f of [A, B, C]) f.setScript(planScript(f));
  });
  after(async () => {
    for (const f of [A, B, C]) await f?.close();
  });
  afterEach(async () => {
    let alive = true;
    try {
      if (seam) {
        assert.equal(seam.running, true, 'seam is still running after the test');
        const hz = await healthz().catch((e) => `no answer (${e.message})`);
        alive = hz === 200;
        assert.equal(hz, 200, 'GET /healthz answers 200 after the test');
        assertNoViolations(C);
      }
    } finally {
      for (const f of [A, B, C]) f?.abortPending();
      if (seam) {
        // A seam that no longer answers is killed at once (the failure is
        // already reported); else SIGTERM must end it with 0.
        const code = alive ? await seam.stop() : (await seam.kill(), 'killed');
        seam = null;
        if (alive) assert.equal(code, 0, 'seam exits 0 on SIGTERM');
      }
      plans.clear();
      for (const f of [A, B, C]) {
        f.requests.length = 0;
        f.setModelsStatus(200);
      }
    }
  });

  // ---------------------------------------------------------- retries
  describe('retries within the local pool', () => {
    // The retryable set of issue 5: connect errors, 429, 502, 503, 504.
    it('500 on the first attempt is not in the retryable set: 502 to the client, one attempt, no fallback', async () => {
      await boot();
      const p = plan([{ type: 'error', status: 500 }, ok('must not be used')]);
      const r = await chat(p);
      assert.equal(r.status, 502, describeRes(r));
      assert.ok(r.error instanceof OpenAI.APIError);
      assert.equal(attemptsHeader(r), 1, describeRes(r));
      assert.equal(p.log.length, 1, 'one upstream attempt');
    });

    for (const status of [502, 503]) {
      it(`${status} on the first attempt → retried on the other local backend → 200, X-Seam-Attempts: 2`, async () => {
        await boot();
        const p = plan([{ type: 'error', status }, ok('second try')]);
        const r = await chat(p);
        assert.equal(r.status, 200, describeRes(r));
        assert.equal(r.content, 'second try');
        assert.equal(attemptsHeader(r), 2, `X-Seam-Attempts: ${describeRes(r)}`);
        assert.equal(p.log.length, 2, 'two upstream attempts');
        assert.notEqual(p.log[0].up, p.log[1].up, `the retry went to the other backend (${p.log.map((l) => l.up)})`);
        assert.ok(p.log.every((l) => l.up !== 'cloud'), 'no cloud attempt');
      });
    }

    it('reset before the headers → retried → 200', async () => {
      await boot();
      const p = plan([{ type: 'drop' }, ok('after reset')]);
      const r = await chat(p);
      assert.equal(r.status, 200, describeRes(r));
      assert.equal(r.content, 'after reset');
      assert.equal(p.log.length, 2, 'two requests reached the upstreams');
      // On a reused keep-alive connection libcurl itself resends a request
      // that got nothing back, once, without seam seeing an attempt; on a
      // fresh connection seam retries. Either way one retry happened.
      const n = attemptsHeader(r);
      assert.ok(n === 1 || n === 2, `X-Seam-Attempts: ${describeRes(r)}`);
    });

    it('connection refused on one backend → served by the other, every time', async () => {
      await boot({ aUrl: `http://127.0.0.1:${await deadPort()}` });
      for (let i = 0; i < 6; i++) {
        const p = plan([ok('alive')]);
        const r = await chat(p, { sens: 'internal' });
        assert.equal(r.status, 200, describeRes(r));
        assert.equal(r.content, 'alive');
        assert.ok(p.log.every((l) => l.up === 'local-b'), 'only local-b answered');
      }
      const rd = await readyz();
      const a = breaker(rd, 'local-a');
      assert.ok(a.error, `/readyz shows local-a's last error: ${JSON.stringify(a.raw)}`);
    });

    it('429 with Retry-After: 1 → the next attempt on that backend waits at least 1 s', async () => {
      await boot();
      // Each backend's first attempt is a 429 Retry-After: 1, its second a success.
      const seen = {};
      const p = plan([
        (up) => {
          seen[up] = (seen[up] ?? 0) + 1;
          return seen[up] === 1 ? { type: 'error', status: 429, headers: { 'retry-after': '1' } } : ok('after 429');
        },
      ]);
      const r = await chat(p, { sens: 'internal' });
      assert.equal(r.status, 200, describeRes(r));
      assert.equal(r.content, 'after 429');
      const byUp = {};
      for (const l of p.log) (byUp[l.up] ??= []).push(l.at);
      let gaps = 0;
      for (const [up, ts] of Object.entries(byUp)) {
        for (let i = 1; i < ts.length; i++) {
          gaps++;
          assert.ok(ts[i] - ts[i - 1] >= 950, `${up} was retried ${ts[i] - ts[i - 1]} ms after its 429 with Retry-After: 1`);
        }
      }
      assert.ok(r.ms >= 950 || gaps === 0, `the client answer took ${r.ms} ms`);
      assert.equal(attemptsHeader(r), p.log.length, describeRes(r));
    });

    it('hang before the first byte → retried after first_byte_ms (800) → 200', async () => {
      await boot();
      const p = plan([{ type: 'hang' }, ok('after hang')]);
      const r = await chat(p);
      assert.equal(r.status, 200, describeRes(r));
      assert.equal(r.content, 'after hang');
      assert.ok(r.ms >= 750 && r.ms < 3000, `answered after ${r.ms} ms`);
      assert.equal(attemptsHeader(r), 2, describeRes(r));
      await waitUntil(() => p.log[0].rec.clientClosed, { what: 'seam to close the hung upstream request', timeoutMs: 2000 });
    });

    it('a 400 from the backend is the client\'s fault: not retried, no breaker failure', async () => {
      await boot();
      for (let i = 0; i < 5; i++) {
        const p = plan([{ type: 'error', status: 400, message: 'bad request (fake)' }]);
        const r = await chat(p, { sens: 'internal' });
        assert.equal(r.status, 400, describeRes(r));
        assert.equal(p.log.length, 1, 'a 400 is not retried');
      }
      const rd = await readyz();
      for (const n of ['local-a', 'local-b']) {
        const b = breaker(rd, n);
        assert.equal(b.state, 'closed', `${n} breaker stays closed after 400s: ${JSON.stringify(b.raw)}`);
      }
    });
  });

  // ---------------------------------------------------------- fallbacks
  describe('fallbacks and the clearance invariant', () => {
    const allLocalDown = (status = 503) => (up) => (up === 'cloud' ? ok('from the cloud') : { type: 'error', status });

    it('all local backends fail → a public request falls back to the cloud (X-Seam-Fallback-From)', async () => {
      await boot();
      const p = plan([allLocalDown()]);
      const r = await chat(p, { sens: 'public' });
      assert.equal(r.status, 200, describeRes(r));
      assert.equal(r.content, 'from the cloud');
      assert.equal(h(r, 'x-seam-backend'), 'frontier', describeRes(r));
      assert.match(h(r, 'x-seam-fallback-from') ?? '', /^local/, `X-Seam-Fallback-From names the local pool or backend: ${describeRes(r)}`);
      assert.equal(attemptsHeader(r), p.log.length, `X-Seam-Attempts counts every attempt (${p.log.map((l) => l.up)})`);
      assert.ok(p.log.filter((l) => l.up !== 'cloud').length >= 2, 'both local backends were tried first');
      assert.equal(p.log.at(-1).up, 'cloud');
    });

    for (const sens of ['regulated', 'internal']) {
      it(`all local backends fail → a ${sens} request gets an error (502 or 503); the cloud never sees it`, async () => {
        await boot();
        const p = plan([allLocalDown()]);
        const r = await chat(p, { sens });
        // Every attempt answered 503: seam reports the upstream failure
        // (502) or no backend left (503); never a cloud fallback.
        assert.ok([502, 503].includes(r.status), describeRes(r));
        assert.ok(r.error instanceof OpenAI.APIError, 'an OpenAI-shaped error');
        assert.equal(C.find(p.id), undefined, 'the cloud fake never received it');
        assert.ok(p.log.length >= 1 && p.log.every((l) => l.up !== 'cloud'));
      });
    }

    it('all local backends hang → a public request reaches the cloud after the first-byte timeouts', async () => {
      await boot();
      const p = plan([(up) => (up === 'cloud' ? ok('cloud after hangs') : { type: 'hang' })]);
      const r = await chat(p, { sens: 'public' });
      assert.equal(r.status, 200, describeRes(r));
      assert.equal(r.content, 'cloud after hangs');
      assert.ok(r.ms >= 750, `took ${r.ms} ms`);
      assert.match(h(r, 'x-seam-fallback-from') ?? '', /^local/, describeRes(r));
    });

    it('the cloud fails → a public cloud-first request falls back to local (X-Seam-Fallback-From: frontier/cloud)', async () => {
      await boot();
      const p = plan([(up) => (up === 'cloud' ? { type: 'error', status: 503 } : ok('local after cloud'))]);
      const r = await chat(p, { sens: 'public', headers: { 'X-Seam-Kind': 'draft', 'X-Seam-Complexity': 'high' } });
      assert.equal(r.status, 200, describeRes(r));
      assert.equal(r.content, 'local after cloud');
      assert.equal(h(r, 'x-seam-rule'), 'frontier-drafting', describeRes(r));
      assert.match(h(r, 'x-seam-fallback-from') ?? '', /^(cloud|frontier)$/, describeRes(r));
      assert.equal(p.log[0].up, 'cloud');
    });

    it('a regulated request whose local backends all hang → 503/504, never the cloud', async () => {
      await boot();
      const p = plan([{ type: 'hang' }]);
      const r = await chat(p, { sens: 'regulated' });
      assert.ok([503, 504].includes(r.status), describeRes(r));
      assert.equal(C.find(p.id), undefined, 'the cloud fake never received it');
    });
  });

  // ---------------------------------------------------------- streams
  describe('streams: failover before the first token, a clean error after', () => {
    it('the upstream dies after the role chunk, before any token → transparent retry, the whole answer once', async () => {
      await boot();
      const p = plan([{ type: 'reset', afterChunks: 0 }, ok('one two three four')]);
      const r = await rawStream(p);
      assert.equal(r.status, 200, describeRes(r));
      assert.equal(r.errorObj, null, `no error event: ${describeRes(r)}`);
      assert.equal(r.content, 'one two three four', describeRes(r));
      assert.equal(r.finish, 'stop');
      assert.ok(r.done, 'ends with [DONE]');
      assert.equal(p.log.length, 2);
      const roles = r.events.filter((e) => e.data.includes('"role"')).length;
      assert.ok(roles <= 1, `at most one role chunk reached the client (got ${roles})`);
    });

    it('the upstream stalls past idle_ms before any token → transparent retry', async () => {
      await boot();
      const p = plan([ok('never shown', { stallAfterChunks: 0, stallMs: 3000 }), ok('fresh answer')]);
      const r = await rawStream(p);
      assert.equal(r.errorObj, null, describeRes(r));
      assert.equal(r.content, 'fresh answer', describeRes(r));
      assert.ok(r.done);
    });

    it('a stall shorter than idle_ms is not a failure', async () => {
      await boot();
      const p = plan([ok('a b c d', { stallAfterChunks: 2, stallMs: 250 })]);
      const r = await rawStream(p);
      assert.equal(r.content, 'a b c d', describeRes(r));
      assert.equal(r.errorObj, null);
      assert.equal(p.log.length, 1);
    });

    const afterTokens = [
      ['the connection resets after 2 tokens', { type: 'reset', afterChunks: 2, content: 'aaa bbb ccc ddd', chunks: 4 }],
      ['the upstream sends its own error event after 2 tokens', { type: 'stream-error', afterChunks: 2, content: 'aaa bbb ccc ddd', chunks: 4 }],
      ['the upstream stalls forever after 2 tokens (idle_ms)', { type: 'text', content: 'aaa bbb ccc ddd', chunks: 4, hangAfterChunks: 2 }],
      ['malformed SSE after 2 tokens', { type: 'garbage', mode: 'sse', afterChunks: 2, content: 'aaa bbb ccc ddd', chunks: 4 }],
    ];
    for (const [what, action] of afterTokens) {
      it(`${what} → the tokens, then an SSE error object, then [DONE]`, async () => {
        await boot();
        const p = plan([action, ok('must not be spliced')]);
        const r = await rawStream(p);
        assert.equal(r.status, 200, describeRes(r));
        assert.equal(r.content, 'aaa bbb ', `the two tokens reached the client, nothing else: ${describeRes(r)}`);
        assert.ok(r.errorObj && typeof r.errorObj.message === 'string', `an SSE error object ends the stream: ${describeRes(r)}`);
        assert.equal(r.finish, null, 'no finish_reason: not a silently truncated success');
        assert.ok(r.done, `[DONE] after the error: ${JSON.stringify(r.events.slice(-2))}`);
        assert.equal(p.log.length, 1, 'no retry once tokens were sent (stream_resume off)');
        // The SDK raises an APIError during iteration.
        const p2 = plan([action]);
        const s = await chat(p2, { stream: true });
        assert.ok(s.error instanceof OpenAI.APIError, `the SDK throws an APIError mid-stream: ${describeRes(s)}`);
        assert.equal(s.content, 'aaa bbb ');
      });
    }

    it('malformed SSE before any token → a retry or a clean error, never garbage to the client', async () => {
      await boot();
      const p = plan([{ type: 'garbage', mode: 'sse-first' }]);
      const r = await rawStream(p);
      if (r.status === 200) {
        assert.ok(r.errorObj, `an SSE error object: ${describeRes(r)}`);
        assert.ok(r.done, 'then [DONE]');
      } else assert.ok(r.status >= 500, describeRes(r));
      const s = await chat(plan([{ type: 'garbage', mode: 'sse-first' }]), { stream: true });
      assert.ok(s.error instanceof OpenAI.APIError, `the SDK throws an APIError: ${describeRes(s)}`);
    });

    it('an endless SSE line (32 MiB, no newline) → an error, seam does not buffer it all', async () => {
      await boot();
      const rss0 = rssKiB(seam.proc.pid);
      const p = plan([{ type: 'huge', mode: 'sse-line', bytes: 32 * 1024 * 1024 }]);
      const r = await rawStream(p);
      assert.ok(r.status >= 500 || r.errorObj, `an error: ${describeRes({ ...r, content: r.content.slice(0, 80) })}`);
      assert.ok(r.content.length < 1024 * 1024, 'the line is not forwarded as content');
      // seam frees an exchange on the loop turn after its reply is queued,
      // so the buffers may still be held the moment the client has read the
      // error: what counts is that they are not kept.
      let grow = rssKiB(seam.proc.pid) - rss0;
      for (let i = 0; i < 40 && grow >= 48 * 1024; i++) {
        await sleep(50);
        grow = rssKiB(seam.proc.pid) - rss0;
      }
      if (!SANITIZED) assert.ok(grow < 48 * 1024, `seam's RSS grew ${grow} KiB`);
    });
  });

  // ---------------------------------------------------------- malformed and odd bodies
  describe('malformed, oversize and slow answers', () => {
    it('malformed JSON (non-stream) → 502 with an OpenAI error body', async () => {
      await boot();
      const p = plan([{ type: 'garbage', mode: 'json' }]);
      const r = await chat(p);
      assert.ok(r.status === 502 || r.status === 200, describeRes(r));
      if (r.status === 200) assert.equal(r.content, 'chaos ok', 'a 200 only after a retry that succeeded');
      else assert.ok(r.error instanceof OpenAI.APIError);
    });

    it('a 200 text/html page → an error, not a success', async () => {
      await boot();
      const p = plan([{ type: 'garbage', mode: 'html' }]);
      const r = await chat(p);
      assert.ok(r.status >= 500, describeRes(r));
    });

    it('a body far larger than its Content-Length (8 MiB extra) → the announced answer or an error; the next request is clean', async () => {
      // One worker and one backend: the follow-ups reuse the connection the junk came on.
      await boot({ workers: 1, localPool: '{ backends: [local-a], retries: 2 }' });
      const p = plan([{ type: 'overlong', content: 'announced part', extraBytes: 8 * 1024 * 1024 }]);
      const r = await chat(p);
      if (r.status === 200) assert.equal(r.content, 'announced part', describeRes(r));
      else assert.ok(r.status >= 500, describeRes(r));
      for (let i = 0; i < 4; i++) {
        const q = plan([ok(`clean ${i}`)]);
        const r2 = await chat(q);
        assert.equal(r2.status, 200, describeRes(r2));
        assert.equal(r2.content, `clean ${i}`, 'no junk from the previous connection leaks into a later answer');
      }
    });

    it('a body shorter than its Content-Length, then a close → retried or 502', async () => {
      await boot();
      const p = plan([{ type: 'short' }, ok('after short')]);
      const r = await chat(p);
      if (r.status === 200) {
        assert.equal(r.content, 'after short', describeRes(r));
        assert.equal(attemptsHeader(r), 2);
      } else assert.ok(r.status >= 500, describeRes(r));
    });

    it('a body shorter than its Content-Length that then hangs → idle/total timeout, 504 or retried', async () => {
      await boot();
      const p = plan([{ type: 'short', then: 'hang' }, ok('after short hang')]);
      const r = await chat(p);
      if (r.status === 200) assert.equal(r.content, 'after short hang', describeRes(r));
      else assert.equal(r.status, 504, describeRes(r));
      assert.ok(r.ms < 6000, `${r.ms} ms`);
    });

    it('a huge non-stream answer (16 MiB) → whole and correct, or an error; seam stays up', async () => {
      await boot();
      const p = plan([{ type: 'huge', mode: 'json', bytes: 16 * 1024 * 1024 }]);
      const r = await chat(p);
      if (r.status === 200) assert.equal(r.content.length, 16 * 1024 * 1024);
      else assert.ok(r.status >= 500, describeRes({ ...r, content: '' }));
    });

    it('a very slow answer, byte by byte within idle_ms, completes (non-stream and stream)', async () => {
      await boot();
      const p = plan([{ type: 'slow', content: 'slowly but surely', byteDelayMs: 2, bytesPerWrite: 1 }]);
      const r = await chat(p);
      assert.equal(r.status, 200, describeRes(r));
      assert.equal(r.content, 'slowly but surely');
      const q = plan([{ type: 'slow', content: 'slow stream here', chunks: 3, byteDelayMs: 2, bytesPerWrite: 4 }]);
      const s = await rawStream(q);
      assert.equal(s.content, 'slow stream here', describeRes(s));
      assert.ok(s.done && !s.errorObj);
    });

    it('a slow answer past a backend\'s own total_ms (1.5 s) → 504 upstream_timeout (non-stream)', async () => {
      // Per-backend overrides of the global timeouts; a timeout is retryable,
      // so each of the (1 + 2 retries) attempts gets its own 1.5 s.
      const t15 = '    timeouts: { total_ms: 1500 }\n';
      await boot({ aExtra: t15, bExtra: t15 });
      const p = plan([{ type: 'slow', content: 'x'.repeat(2000), byteDelayMs: 20, bytesPerWrite: 8 }]);
      const r = await chat(p, { sens: 'internal' });
      assert.equal(r.status, 504, describeRes({ ...r, content: r.content.slice(0, 40) }));
      assert.equal(r.error?.code, 'upstream_timeout', describeRes(r));
      const n = p.log.length;
      assert.ok(n >= 1 && n <= 3, `${n} attempts`);
      assert.equal(attemptsHeader(r), n, describeRes(r));
      assert.ok(r.ms >= 1400 * n && r.ms < 1500 * n + 1500, `${r.ms} ms for ${n} attempts of 1.5 s`);
      for (const l of p.log) await waitUntil(() => l.rec.clientClosed, { timeoutMs: 1000, what: 'seam to close the timed-out transfer' });
    });
  });

  // ---------------------------------------------------------- breakers
  describe('circuit breakers', () => {
    it('closed → open after 3 failures → half_open after the cool-down → closed after a success', async () => {
      await boot();
      const aFails = (up) => (up === 'local-a' ? { type: 'error', status: 503 } : ok('via b'));
      // Open: real traffic until local-a has failed 3 times.
      for (let i = 0; i < 12 && A.chatRequests().length < 3; i++) {
        const r = await chat(plan([aFails]), { sens: 'internal' });
        assert.equal(r.status, 200, describeRes(r));
        assert.equal(r.content, 'via b');
      }
      assert.ok(A.chatRequests().length >= 3, 'local-a failed 3 times');
      let rd = await readyz();
      const a = breaker(rd, 'local-a');
      assert.equal(a.state, 'open', `/readyz after 3 failures: ${JSON.stringify(a.raw)}`);
      const lastError = a; // checked at the end, so the rest of the state machine is checked too
      assert.equal(breaker(rd, 'local-b').state, 'closed');
      // Open: local-a gets nothing.
      const before = A.chatRequests().length;
      for (let i = 0; i < 3; i++) {
        const r = await chat(plan([aFails]), { sens: 'internal' });
        assert.equal(r.status, 200, describeRes(r));
        assert.equal(attemptsHeader(r), 1, `an open breaker is skipped, not tried: ${describeRes(r)}`);
      }
      assert.equal(A.chatRequests().length, before, 'no request reached local-a while its breaker was open');
      // Half-open after the cool-down: one trial at a time.
      await sleep(CIRCUIT.cooldown_ms + 150);
      rd = await readyz();
      assert.equal(breaker(rd, 'local-a').state, 'half_open', `/readyz after the cool-down: ${JSON.stringify(breaker(rd, 'local-a').raw)}`);
      const slowOk = () => ok('trial ok', { delayMs: 300 });
      const rs = await Promise.all([0, 1, 2, 3].map(() => chat(plan([slowOk]), { sens: 'internal' })));
      for (const r of rs) assert.equal(r.status, 200, describeRes(r));
      const trials = A.chatRequests().length - before;
      assert.ok(trials >= 1 && trials <= CIRCUIT.half_open_max, `half-open let ${trials} trial(s) through to local-a`);
      rd = await readyz();
      assert.equal(breaker(rd, 'local-a').state, 'closed', `closed after a successful trial: ${JSON.stringify(breaker(rd, 'local-a').raw)}`);
      assert.match(String(lastError.error ?? ''), /503|unavailable|server|error/i, `/readyz shows the last error of real traffic while open: ${JSON.stringify(lastError.raw)}`);
    });

    it('a failed trial re-opens the breaker', async () => {
      await boot();
      const aFails = (up) => (up === 'local-a' ? { type: 'error', status: 503 } : ok('via b'));
      for (let i = 0; i < 12 && A.chatRequests().length < 3; i++) await chat(plan([aFails]), { sens: 'internal' });
      assert.equal(breaker(await readyz(), 'local-a').state, 'open');
      await sleep(CIRCUIT.cooldown_ms + 150);
      const before = A.chatRequests().length;
      for (let i = 0; i < 4 && A.chatRequests().length === before; i++) {
        const r = await chat(plan([aFails]), { sens: 'internal' });
        assert.equal(r.status, 200, describeRes(r));
      }
      assert.equal(A.chatRequests().length, before + 1, 'one trial reached local-a');
      assert.equal(breaker(await readyz(), 'local-a').state, 'open', 're-opened by the failed trial');
    });

    it('both local breakers open → a public request goes straight to the cloud, a regulated one gets 503 at once', async () => {
      await boot();
      const down = (up) => (up === 'cloud' ? ok('cloud') : { type: 'error', status: 503 });
      for (let i = 0; i < 6; i++) await chat(plan([down]), { sens: 'public' });
      const rd = await readyz();
      assert.equal(breaker(rd, 'local-a').state, 'open', JSON.stringify(rd.json));
      assert.equal(breaker(rd, 'local-b').state, 'open', JSON.stringify(rd.json));
      const p = plan([down]);
      const r = await chat(p, { sens: 'public' });
      assert.equal(r.status, 200, describeRes(r));
      assert.deepEqual(p.log.map((l) => l.up), ['cloud'], 'no attempt on an open local backend');
      const q = plan([down]);
      const r2 = await chat(q, { sens: 'regulated' });
      assert.equal(r2.status, 503, describeRes(r2));
      assert.ok(r2.ms < 500, `failed fast (${r2.ms} ms)`);
      assert.equal(q.log.length, 0, 'nothing was sent anywhere');
    });
  });

  // ---------------------------------------------------------- capacity
  describe('capacity: max_concurrency, queue, spill, cancellation', () => {
    const single = (extraPool = '') => ({
      timeouts: { first_byte_ms: 4000 }, // requests here hold their slot for a second or more
      aExtra: '    max_concurrency: 1\n',
      localPool: `{ backends: [local-a], retries: 0, queue: { max: 1, timeout_ms: 1500 }${extraPool} }`,
    });

    it('max_concurrency 1, queue max 1: the second waits, the third gets 429 with Retry-After', async () => {
      await boot(single());
      const p1 = plan([ok('first', { delayMs: 1000 })]);
      const r1 = chat(p1, { sens: 'internal' });
      await A.waitFor((r) => r.rawBody.includes(p1.id), 3000);
      const p2 = plan([ok('second')]);
      const r2 = chat(p2, { sens: 'internal' });
      await sleep(150);
      assert.equal(p2.log.length, 0, 'the second request is queued, not sent');
      const p3 = plan([ok('third')]);
      const r3 = await chat(p3, { sens: 'internal' });
      assert.equal(r3.status, 429, describeRes(r3));
      assert.ok(Number(h(r3, 'retry-after')) >= 1, `Retry-After: ${describeRes(r3)}`);
      assert.ok(r3.ms < 500, `rejected at once (${r3.ms} ms)`);
      assert.equal(p3.log.length, 0);
      const [a1, a2] = await Promise.all([r1, r2]);
      assert.equal(a1.status, 200, describeRes(a1));
      assert.equal(a2.status, 200, describeRes(a2));
      assert.equal(a2.content, 'second');
      assert.ok(p2.log[0].at >= p1.log[0].at + 950, 'the queued request started after the first finished');
    });

    it('a queued request past queue.timeout_ms (1.5 s) gets 429 with Retry-After', async () => {
      await boot(single());
      const p1 = plan([ok('long', { delayMs: 3000 })]);
      const r1 = chat(p1, { sens: 'internal' });
      await A.waitFor((r) => r.rawBody.includes(p1.id), 3000);
      const p2 = plan([ok('never')]);
      const r2 = await chat(p2, { sens: 'internal' });
      assert.equal(r2.status, 429, describeRes(r2));
      assert.ok(Number(h(r2, 'retry-after')) >= 1, describeRes(r2));
      assert.ok(r2.ms >= 1400 && r2.ms < 2800, `waited ${r2.ms} ms`);
      assert.equal(p2.log.length, 0);
      assert.equal((await r1).status, 200);
    });

    it('spill: cloud → a public request overflows to the cloud (X-Seam-Reason spill), a regulated one queues locally', async () => {
      await boot(single(', spill: cloud'));
      const p1 = plan([ok('busy', { delayMs: 1000 })]);
      const r1 = chat(p1, { sens: 'internal' });
      await A.waitFor((r) => r.rawBody.includes(p1.id), 3000);
      const p2 = plan([ok('spilled')]);
      const r2 = await chat(p2, { sens: 'public' });
      assert.equal(r2.status, 200, describeRes(r2));
      assert.equal(r2.content, 'spilled');
      assert.equal(h(r2, 'x-seam-backend'), 'frontier', describeRes(r2));
      assert.ok(r2.ms < 800, `spilled at once (${r2.ms} ms)`);
      const p3 = plan([ok('regulated waited')]);
      const r3 = chat(p3, { sens: 'regulated' });
      await sleep(150);
      const p4 = plan([ok('x')]);
      const r4 = await chat(p4, { sens: 'internal' });
      assert.equal(r4.status, 429, `queue full for a request that may not spill: ${describeRes(r4)}`);
      const a3 = await r3;
      assert.equal(a3.status, 200, describeRes(a3));
      assert.equal(a3.content, 'regulated waited');
      assert.equal(h(a3, 'x-seam-backend'), 'local-a');
      assert.equal(C.find(p3.id), undefined);
      assert.equal((await r1).status, 200);
      assert.match(h(r2, 'x-seam-reason') ?? '', /spill/, `the spilled request's X-Seam-Reason says spill:capacity: ${describeRes(r2)}`);
    });

    it('a queued request is not failed when the slot freed for it is on a backend whose breaker just opened', async () => {
      await boot({
        timeouts: { first_byte_ms: 4000 },
        circuit: { failures: 1, cooldown_ms: 30000 }, // local-a stays open for the whole test
        aExtra: '    max_concurrency: 1\n',
        bExtra: '    max_concurrency: 1\n',
        localPool: '{ backends: [local-a, local-b], retries: 0, queue: { max: 4, timeout_ms: 3000 } }',
      });
      // Two requests fill both backends: the one on local-a fails after
      // 800 ms (opening its breaker), the one on local-b succeeds at 1500 ms.
      const busy = (up) => (up === 'local-a' ? { type: 'error', status: 503, firstByteDelayMs: 800 } : ok('b done', { delayMs: 1500 }));
      const p1 = plan([busy]);
      const p2 = plan([busy]);
      const r1 = chat(p1, { sens: 'internal' });
      const r2 = chat(p2, { sens: 'internal' });
      await waitUntil(() => p1.log.length + p2.log.length === 2, { what: 'both backends busy' });
      const p3 = plan([ok('waited for local-b')]);
      const r3 = await chat(p3, { sens: 'internal' });
      await Promise.all([r1, r2]);
      assert.equal(r3.status, 200, `the waiter is served by local-b once it is free: ${describeRes(r3)}`);
      assert.equal(r3.content, 'waited for local-b');
      assert.equal(h(r3, 'x-seam-backend'), 'local-b');
    });

    it('a waiter whose only free slot is on an open-breaker backend waits quietly (no busy loop), then local-b serves it', async (t) => {
      await boot({
        workers: 1,
        timeouts: { first_byte_ms: 6000 },
        circuit: { failures: 1, cooldown_ms: 30000 },
        aExtra: '    max_concurrency: 1\n',
        bExtra: '    max_concurrency: 1\n',
        localPool: '{ backends: [local-a, local-b], retries: 0, queue: { max: 4, timeout_ms: 5000 } }',
      });
      // Open local-a's breaker (one failure; it stays open for 30 s).
      for (let i = 0; i < 4 && breaker(await readyz(), 'local-a').state !== 'open'; i++) {
        await chat(plan([(up) => (up === 'local-a' ? { type: 'error', status: 503 } : ok('b'))]), { sens: 'internal' });
      }
      assert.equal(breaker(await readyz(), 'local-a').state, 'open');
      // local-b busy for 2 s; local-a has a free slot but may not serve.
      const pb = plan([ok('b was busy', { delayMs: 2000 })]);
      const rb = chat(pb, { sens: 'internal' });
      await waitUntil(() => pb.log.length === 1, { what: 'local-b busy' });
      const cpu = () => {
        const st = fs.readFileSync(`/proc/${seam.proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
        return Number(st[11]) + Number(st[12]); // utime + stime, in clock ticks
      };
      const c0 = cpu();
      const rss0 = rssKiB(seam.proc.pid);
      const pw = plan([ok('served after waiting')]);
      const rw = chat(pw, { sens: 'internal' });
      await sleep(1000);
      const ticks = cpu() - c0; // 100 ticks a second is one busy core
      const grow = rssKiB(seam.proc.pid) - rss0;
      t.diagnostic(`while the waiter waited 1 s: ${ticks} CPU ticks, VmRSS +${grow} KiB`);
      if (ticks >= 30 || grow >= 8 * 1024) {
        await seam.kill(); // a spinning worker answers nothing more, SIGTERM included
        seam = null;
        await Promise.all([rb, rw]);
      }
      assert.ok(ticks < 30, `seam spun ${ticks} CPU ticks in 1 s while a request waited in the queue`);
      if (!SANITIZED) assert.ok(grow < 8 * 1024, `VmRSS grew ${grow} KiB in 1 s while a request waited in the queue`);
      const [ab, aw] = await Promise.all([rb, rw]);
      assert.equal(ab.status, 200, `the busy request on local-b completes: ${describeRes(ab)}`);
      assert.equal(aw.status, 200, describeRes(aw));
      assert.equal(h(aw, 'x-seam-backend'), 'local-b');
    });

    it('a client that disconnects frees its upstream transfer and its slot at once', async () => {
      await boot(single());
      const p1 = plan([{ type: 'hang' }]);
      const ac = new AbortController();
      const r1 = chat(p1, { sens: 'internal', signal: ac.signal });
      const up1 = await A.waitFor((r) => r.rawBody.includes(p1.id), 3000);
      ac.abort();
      await r1;
      await waitUntil(() => up1.clientClosed, { timeoutMs: 1000, what: 'seam to cancel the upstream transfer' });
      const p2 = plan([ok('not queued')]);
      const r2 = await chat(p2, { sens: 'internal' });
      assert.equal(r2.status, 200, describeRes(r2));
      assert.ok(r2.ms < 400, `served without queueing (${r2.ms} ms)`);
    });

    it('a streaming client that disconnects mid-stream frees its slot', async () => {
      await boot(single());
      const p1 = plan([ok('a b c d e f g h', { chunks: 8, delayMs: 400 })]);
      const ac = new AbortController();
      const res = await fetch(`${seam.origin}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'X-Seam-Sensitivity': 'internal' },
        body: JSON.stringify({ model: 'auto', stream: true, messages: [{ role: 'user', content: tagged('internal', 'chaos', p1.id) }] }),
        signal: ac.signal,
      });
      const reader = res.body.getReader();
      await reader.read();
      ac.abort();
      const up1 = p1.log[0].rec;
      await waitUntil(() => up1.clientClosed, { timeoutMs: 1000, what: 'seam to cancel the upstream stream' });
      assert.ok(up1.cancelSeen, 'the upstream saw the cancel before its answer ended');
      const r2 = await chat(plan([ok('next')]), { sens: 'internal' });
      assert.equal(r2.status, 200, describeRes(r2));
      assert.ok(r2.ms < 400, `served without queueing (${r2.ms} ms)`);
    });
  });

  // ---------------------------------------------------------- backpressure
  describe('backpressure: a slow client', () => {
    it('a client that stops reading a 64 MiB stream holds the upstream back; seam does not buffer it; resumed, it gets every byte', async (t) => {
      await boot({ timeouts: { idle_ms: 10000, total_ms: 60000 } });
      const CHUNKS = 4096;
      const SIZE = 16384;
      const p = plan([{ type: 'flood', chunks: CHUNKS, chunkBytes: SIZE }]);
      const body = JSON.stringify({ model: 'auto', stream: true, messages: [{ role: 'user', content: tagged('internal', 'chaos', p.id) }] });
      const [host, port] = seam.listen.split(':');
      const sock = net.connect(Number(port), host);
      await new Promise((r) => sock.once('connect', r));
      const rss0 = rssKiB(seam.proc.pid);
      sock.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: ${seam.listen}\r\nContent-Type: application/json\r\nX-Seam-Sensitivity: internal\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      // Read the first bytes, then stop reading for 3 s.
      let received = 0;
      const chunks = [];
      const onData = (d) => {
        received += d.length;
        chunks.push(d);
      };
      sock.on('data', onData);
      await waitUntil(() => received > 0, { timeoutMs: 3000, what: 'the first bytes' });
      sock.pause();
      await sleep(3000);
      const up = p.log[0].rec;
      const sentWhilePaused = up.bytesSent;
      const rssPaused = rssKiB(seam.proc.pid);
      const total = CHUNKS * (SIZE + 200);
      t.diagnostic(`paused client: the upstream got ${(sentWhilePaused / 1048576).toFixed(1)} of ~${(total / 1048576).toFixed(0)} MiB out; seam VmRSS ${rss0} → ${rssPaused} KiB`);
      // Resume: everything arrives, in order, ending with [DONE].
      const ended = new Promise((r) => sock.once('close', r));
      sock.resume();
      await within(ended, 30000, 'the rest of the stream');
      const text = Buffer.concat(chunks).toString('utf8');
      const events = parseSSE(text.slice(text.indexOf('\r\n\r\n') + 4).replace(/\r\n[0-9a-f]+\r\n/g, ''));
      let content = 0;
      let bad = 0;
      for (const e of events) {
        if (e.data === '[DONE]') continue;
        try {
          for (const c of JSON.parse(e.data).choices ?? []) content += (c.delta?.content ?? '').length;
        } catch {
          bad++;
        }
      }
      assert.ok(sentWhilePaused < 32 * 1048576, `while the client read nothing, the upstream could write only ${(sentWhilePaused / 1048576).toFixed(1)} MiB (cap + socket buffers), not the whole ${(total / 1048576).toFixed(0)} MiB`);
      if (!SANITIZED) assert.ok(rssPaused - rss0 < 32 * 1024, `seam's RSS grew ${rssPaused - rss0} KiB while the client was paused`);
      assert.equal(bad, 0, 'every event parses (chunked framing removed)');
      assert.equal(content, CHUNKS * SIZE, 'every content byte arrived after the client resumed');
      assert.equal(events.at(-1)?.data, '[DONE]');
    });
  });

  // ---------------------------------------------------------- stays up
  describe('seam stays up with stable memory', () => {
    it('500 mixed faulty requests (non-stream and stream, public and regulated): VmRSS stays flat', async (t) => {
      // Breakers that never open, so every request goes through the fault paths.
      await boot({ circuit: { failures: 1000, window_ms: 1000 } });
      const faults = [
        { type: 'error', status: 500 },
        { type: 'error', status: 503 },
        { type: 'drop' },
        { type: 'garbage', mode: 'json' },
        { type: 'reset', afterChunks: 2, content: 'w x y z', chunks: 4 },
        { type: 'stream-error', afterChunks: 1, content: 'w x y z', chunks: 4 },
        { type: 'garbage', mode: 'sse', afterChunks: 1 },
        ok('fine w x y z'),
      ];
      let k = 0;
      const one = async () => {
        const i = k++;
        const f = faults[i % faults.length];
        const p = plan([f, i % 3 === 0 ? ok('retried') : f]);
        // Every fault meets both shapes and both sensitivities.
        const sens = Math.floor(i / 16) % 4 === 0 ? 'regulated' : 'public';
        const r = Math.floor(i / 8) % 2 === 0 ? await rawStream(p, { sens }) : await chat(p, { sens });
        plans.delete(p.id);
        assert.ok(r.status !== null && r.status !== undefined, 'an answer');
        return r;
      };
      const run = async (n, conc) => {
        const statuses = {};
        let left = n;
        await Promise.all(
          Array.from({ length: conc }, async () => {
            while (left-- > 0) {
              const r = await one();
              statuses[r.status] = (statuses[r.status] ?? 0) + 1;
            }
          }),
        );
        return statuses;
      };
      await run(100, 25); // warm-up: pools, arenas, connections
      for (const f of [A, B, C]) f.requests.length = 0;
      const rss0 = rssKiB(seam.proc.pid);
      const statuses = await run(500, 25);
      for (const f of [A, B, C]) f.requests.length = 0;
      const rss1 = rssKiB(seam.proc.pid);
      assert.equal(await healthz(), 200);
      const grow = rss1 - rss0;
      t.diagnostic(`VmRSS ${rss0} → ${rss1} KiB over 500 faulty requests; statuses ${JSON.stringify(statuses)}`);
      if (!SANITIZED) assert.ok(grow < 8 * 1024, `VmRSS grew ${grow} KiB over 500 faulty requests (${rss0} → ${rss1} KiB); statuses ${JSON.stringify(statuses)}`);
    });
  });
});
