// Config reload under load (issue 5, item 8): seam serves 50 concurrent
// clients looping for about 5 s (a third of them streaming) while the test
// rewrites its config file and sends SIGHUP twice: first a good file that
// moves a rule to another pool and adds a backend, then a broken file.
//
// Checked: no request fails at any point (every non-stream answer is a 200
// with the full text, every stream ends with its finish chunk and [DONE]);
// requests sent after the reload took effect follow the new config (the
// routing headers and the fake that received them); the broken file is
// refused with an error logged as a JSON line, and the previous config keeps
// serving; seam exits 0 on SIGTERM afterwards.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startSeam, startFakeOpenAI, rid, tagged, assertNoViolations, waitUntil, sleep, parseSSE, CLOUD_KEY_ENV, LOCAL_MODEL, CLOUD_MODEL } from './helpers.mjs';

const CLIENTS = 50;
const LOAD_MS = 5000;

function backend(name, url, location, model) {
  return `  - name: ${name}
    provider: openai
    url: ${url}
    location: ${location}
    models: [${model}]
${location === 'cloud' ? `    api_key_env: ${CLOUD_KEY_ENV}\n` : '    max_concurrency: 64\n'}`;
}

/**
 * v1: summarize → pool local (local-a); classify → default (local-a).
 * v2: summarize → pool alt (local-b, now in the long form with a queue);
 *     classify → pool extra, a new backend local-c; other timeouts and
 *     breaker settings; the rest as before. Both generations have
 *     max_concurrency, so requests in flight at the SIGHUP hold slots of
 *     the old generation's capacity.
 */
function config(v, f) {
  const backends = backend('local-a', f.a.url, 'local', LOCAL_MODEL) + backend('local-b', f.b.url, 'local', LOCAL_MODEL) + (v === 2 ? backend('local-c', f.c.url, 'local', LOCAL_MODEL) : '') + backend('frontier', f.cloud.url, 'cloud', CLOUD_MODEL);
  return `# seam reload test config v${v} (generated)
listen: 127.0.0.1:0
workers: 2
limits: { max_body_bytes: 33554432, request_timeout_ms: 30000 }
timeouts: { connect_ms: 1000, first_byte_ms: ${v === 2 ? 4000 : 5000}, idle_ms: 3000, total_ms: 10000 }
circuit: { failures: ${v === 2 ? 10 : 5}, window_ms: 10000, cooldown_ms: 1000, half_open_max: 1 }
backends:
${backends}pools:
  local: { backends: [local-a], retries: 2, queue: { max: 64, timeout_ms: 5000 } }
  alt: ${v === 2 ? '{ backends: [local-b], strategy: round_robin, retries: 1, queue: { max: 64, timeout_ms: 5000 } }' : '[local-b]'}
${v === 2 ? '  extra: [local-c]\n' : ''}  cloud: [frontier]
policy:
  rules:
    - { name: summaries, when: { kind: [summarize] }, route: ${v === 2 ? 'alt' : 'local'} }
${v === 2 ? '    - { name: classifiers, when: { kind: [classify] }, route: extra }\n' : ''}    - { name: frontier-drafting, when: { kind: [draft], complexity: [high], sensitivity: [public] }, route: cloud }
  default: local
`;
}

describe('SIGHUP reload under load', { timeout: 60000 }, () => {
  const f = {};
  let seam;
  before(async () => {
    f.a = await startFakeOpenAI({ name: 'local-a', model: LOCAL_MODEL });
    f.b = await startFakeOpenAI({ name: 'local-b', model: LOCAL_MODEL });
    f.c = await startFakeOpenAI({ name: 'local-c', model: LOCAL_MODEL });
    f.cloud = await startFakeOpenAI({ name: 'frontier', model: CLOUD_MODEL, clearance: 'public' });
    // Answers take a little while, so requests are in flight at each SIGHUP.
    const script = (rec) => ({ type: 'text', content: `reply from ${rec.upstream} one two three`, chunks: 4, delayMs: 10 + (rec.id % 4) * 10 });
    for (const x of Object.values(f)) x.setScript(script);
    seam = await startSeam(config(1, f));
  });
  after(async () => {
    if (seam) await seam.stop();
    for (const x of Object.values(f)) await x.close();
  });

  it('no request fails across a good and a bad reload; new requests follow the new config; the bad file is refused and logged', async (t) => {
    const results = [];
    const marks = {};
    let stop = false;

    async function one(i, n) {
      const kinds = ['summarize', 'classify', 'chat', 'draft'];
      const kind = kinds[(i + n) % kinds.length];
      const sens = kind === 'draft' ? 'public' : i % 3 === 0 ? 'regulated' : 'internal';
      const stream = i % 3 === 1;
      const id = rid();
      const t0 = Date.now();
      const rec = { id, kind, sens, stream, t0, t1: null, status: null, backend: null, rule: null, ok: false, error: null };
      results.push(rec);
      try {
        const res = await fetch(`${seam.origin}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'X-Seam-Kind': kind, 'X-Seam-Sensitivity': sens, 'X-Seam-Complexity': 'high' },
          body: JSON.stringify({ model: 'auto', stream, messages: [{ role: 'user', content: tagged(sens, 'reload', id) }] }),
          signal: AbortSignal.timeout(10000),
        });
        rec.status = res.status;
        rec.backend = res.headers.get('x-seam-backend');
        rec.rule = res.headers.get('x-seam-rule');
        const text = await res.text();
        const want = `reply from ${rec.backend} one two three`;
        if (stream) {
          const ev = parseSSE(text);
          let content = '';
          let finish = null;
          for (const e of ev) {
            if (e.data === '[DONE]') continue;
            const o = JSON.parse(e.data);
            if (o.error) throw new Error(`stream error event: ${e.data}`);
            for (const c of o.choices ?? []) {
              content += c.delta?.content ?? '';
              if (c.finish_reason) finish = c.finish_reason;
            }
          }
          rec.ok = res.status === 200 && content === want && finish === 'stop' && ev.at(-1)?.data === '[DONE]';
          if (!rec.ok) rec.error = `stream: status ${res.status} content ${JSON.stringify(content)} finish ${finish} last ${ev.at(-1)?.data}`;
        } else {
          const j = JSON.parse(text);
          rec.ok = res.status === 200 && j.choices?.[0]?.message?.content === want;
          if (!rec.ok) rec.error = `status ${res.status}: ${text.slice(0, 300)}`;
        }
      } catch (e) {
        rec.error = String(e.cause?.code ?? e.message);
      }
      rec.t1 = Date.now();
    }

    const clients = Array.from({ length: CLIENTS }, async (_, i) => {
      for (let n = 0; !stop; n++) await one(i, n);
    });

    // 1. A good file: summarize moves to local-b, classify to a new backend local-c.
    await sleep(1200);
    fs.writeFileSync(seam.file, config(2, f));
    marks.goodHup = Date.now();
    seam.proc.kill('SIGHUP');
    // The reload has taken effect once a new summarize request lands on local-b.
    marks.goodSeen = await waitUntil(
      () => {
        const r = results.find((x) => x.kind === 'summarize' && x.t0 > marks.goodHup && x.backend === 'local-b');
        return r ? r.t0 : null;
      },
      { timeoutMs: 3000, what: 'a summarize request served by local-b after the SIGHUP' },
    ).catch((e) => {
      marks.goodErr = e.message;
      return null;
    });

    // 2. A broken file: refused, logged, v2 keeps serving.
    await sleep(1200);
    const logsBefore = seam.logs.length;
    fs.writeFileSync(seam.file, config(2, f).replace('pools:', 'pools:\n  broken: [no-such-backend]\n  : : :'));
    marks.badHup = Date.now();
    seam.proc.kill('SIGHUP');
    await sleep(LOAD_MS - (Date.now() - marks.goodHup) + 1200);
    stop = true;
    await Promise.all(clients);

    // Nothing failed, at any point.
    const failed = results.filter((r) => !r.ok);
    let exit = null;
    seam.exited.then((e) => (exit = e));
    await sleep(0);
    assert.equal(seam.running, true, `seam is still running after the SIGHUPs (it exited: ${JSON.stringify(exit)}; last log lines: ${seam.stderr().split('\n').slice(-4).join('\n')})`);
    assert.ok(results.length > 500, `load ran (${results.length} requests)`);
    assert.deepEqual(
      failed.slice(0, 10).map((r) => ({ ...r, sinceHup: r.t0 - marks.goodHup })),
      [],
      `${failed.length} of ${results.length} requests failed`,
    );

    // The good reload took effect; later requests follow v2.
    assert.ok(marks.goodSeen, `the reload took effect: ${marks.goodErr}`);
    const after = results.filter((r) => r.t0 > marks.goodSeen + 200);
    for (const r of after) {
      const want = r.kind === 'summarize' ? 'local-b' : r.kind === 'classify' ? 'local-c' : r.kind === 'draft' ? 'frontier' : 'local-a';
      assert.equal(r.backend, want, `a ${r.kind} request ${r.t0 - marks.goodHup} ms after the SIGHUP went to ${r.backend} (rule ${r.rule})`);
    }
    assert.ok(after.some((r) => r.kind === 'classify'), 'classify requests after the reload');
    const before = results.filter((r) => r.t1 && r.t1 < marks.goodHup);
    for (const r of before) {
      const want = r.kind === 'summarize' || r.kind === 'classify' || r.kind === 'chat' ? 'local-a' : 'frontier';
      assert.equal(r.backend, want, `a ${r.kind} request before the SIGHUP went to ${r.backend}`);
    }
    assert.ok(f.c.chatRequests().length > 0, 'the added backend local-c served requests');
    // Requests in flight at the SIGHUP (already at their upstream, not yet
    // answered) finished on the config they started with.
    const arrival = (r) => [f.a, f.b, f.c, f.cloud].map((x) => x.find(r.id)).find(Boolean)?.receivedAt ?? Infinity;
    const inflight = results.filter((r) => r.t1 > marks.goodHup && arrival(r) < marks.goodHup);
    assert.ok(inflight.length > 0, 'some requests were in flight at the SIGHUP');
    for (const r of inflight) {
      const want = r.kind === 'draft' ? 'frontier' : 'local-a';
      assert.equal(r.backend, want, `a ${r.kind} request in flight at the SIGHUP was answered by ${r.backend}`);
    }

    // The bad file was refused with an error logged, and v2 still serves.
    const newLogs = seam.logs.slice(logsBefore);
    const refused = newLogs.find((l) => (l.level === 'error' || l.level === 'warn') && /reload|config/i.test(JSON.stringify(l)));
    assert.ok(refused, `an error log line for the refused file; log lines since: ${JSON.stringify(newLogs.filter((l) => l.level !== 'info').slice(0, 5))}`);
    const afterBad = results.filter((r) => r.t0 > marks.badHup + 200 && r.kind === 'summarize');
    assert.ok(afterBad.length > 0, 'summarize requests after the bad SIGHUP');
    for (const r of afterBad) assert.equal(r.backend, 'local-b', 'the last good config (v2) keeps serving after a bad reload');
    assertNoViolations(f.cloud);
    t.diagnostic(`${results.length} requests, ${inflight.length} in flight at the good SIGHUP, reload seen ${marks.goodSeen - marks.goodHup} ms after it; refused: ${JSON.stringify(refused)}`);
    const code = await seam.stop();
    seam = null;
    assert.equal(code, 0, 'seam exits 0 on SIGTERM after the reloads');
  });
});
