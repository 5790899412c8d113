// The usage ledger end to end: a real seam writes one SQLite row per request
// while serving a concurrent burst (local and cloud, streamed and not, upstream
// failures and malformed requests). The test reads the rows with the sqlite3
// CLI, independently of seam, and checks them against what the clients saw
// (X-Seam-Request-Id, status, routing headers) and what the fake upstreams
// reported (usage numbers): requests sent == rows written, after live batches
// and after SIGTERM. After SIGKILL, only rows of the last batch window may be
// missing, the file stays consistent, and a restarted seam appends to it.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, seamConfig, tmpDir, rid, tagged, rawFetch, sleep, waitUntil, within, CLOUD_KEY_ENV } from './helpers.mjs';

const CLOUD_TASK = { 'X-Seam-Kind': 'draft', 'X-Seam-Sensitivity': 'public', 'X-Seam-Complexity': 'high' };
const PRICE = { input: 1.25, output: 10.0, cached: 0.125 };
// Words that appear in every prompt and must never reach the ledger file.
const SECRET = 'ledger-prompt-text-never-stored';

function noSqliteCli() {
  try {
    execFileSync('sqlite3', ['-version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'the sqlite3 CLI is not installed (scripts/install-deps.sh installs it)';
  }
}

/** Runs <query> on <db> with the sqlite3 CLI; resolves the rows as objects. */
function sql(db, query) {
  const out = execFileSync('sqlite3', ['-bail', '-json', db, query], { encoding: 'utf8', timeout: 10000 });
  return out.trim() ? JSON.parse(out) : [];
}

function countRows(db) {
  if (!fs.existsSync(db)) return 0;
  return sql(db, 'SELECT count(*) AS n FROM requests')[0].n;
}

function freshDb(name) {
  const d = path.join(tmpDir(), `${name}-${crypto.randomBytes(4).toString('hex')}`);
  fs.mkdirSync(d, { recursive: true });
  return path.join(d, 'seam.db');
}

/** The standard stack config with a price on the cloud backend, the cloud
 * backend as the report's reference, and the ledger at <db>. */
function ledgerConfig(db, batchMs, workers = 4) {
  return ({ local, cloud }) =>
    seamConfig({ local, cloud, workers }).replace(
      `    api_key_env: ${CLOUD_KEY_ENV}\n`,
      `    api_key_env: ${CLOUD_KEY_ENV}\n    price: { input_per_mtok: ${PRICE.input}, output_per_mtok: ${PRICE.output}, cached_input_per_mtok: ${PRICE.cached} }\n`,
    ) + `state:\n  sqlite: ${db}\n  batch_ms: ${batchMs}\nreport:\n  reference_backend: frontier\n`;
}

/** What the price above charges for <usage> (an OpenAI usage object). */
function priced(u) {
  const cached = u.prompt_tokens_details?.cached_tokens ?? 0;
  return ((u.prompt_tokens - cached) * PRICE.input + cached * PRICE.cached + u.completion_tokens * PRICE.output) / 1e6;
}

const near = (a, b) => Math.abs(a - b) <= 1e-12 + 1e-9 * Math.abs(b);

/**
 * Request <i> of a burst; the kind cycles through six cases:
 *   0 local, non-stream   1 local, stream    2 cloud, non-stream
 *   3 cloud, stream       4 local upstream answers 500    5 malformed JSON (400)
 * Resolves what the client saw: {i, kind, marker, status, id, route, backend, rule, stream, doneAt}.
 */
async function send(seam, i, tag = 'b') {
  const kind = i % 6;
  const marker = `${tag}-${rid()}`;
  const cloud = kind === 2 || kind === 3;
  const stream = kind === 1 || kind === 3;
  const sens = cloud ? 'public' : 'internal';
  const text = tagged(sens, `${SECRET} ${i}${kind === 4 ? ' [fail500]' : ''} [reply:answer ${i} ok] [chunks:3]`, marker);
  const body =
    kind === 5
      ? `{"model":"auto","messages":[{"role":"user","content":"${marker}"}],` // cut short: not JSON
      : JSON.stringify({ model: 'auto', stream, messages: [{ role: 'user', content: text }] });
  const headers = { 'content-type': 'application/json', ...(cloud ? CLOUD_TASK : { 'X-Seam-Sensitivity': 'internal' }) };
  const res = await rawFetch(seam, '/v1/chat/completions', { method: 'POST', headers, body }, 60000);
  await res.text(); // the whole answer, stream included
  const h = res.headers;
  return {
    i,
    kind,
    marker,
    stream,
    status: res.status,
    id: h.get('x-seam-request-id'),
    route: h.get('x-seam-route'),
    backend: h.get('x-seam-backend'),
    rule: h.get('x-seam-rule'),
    doneAt: Date.now(),
  };
}

async function burst(s, n, tag) {
  const jobs = [];
  for (let i = 0; i < n; i++) jobs.push(send(s.seam, i, tag));
  return within(Promise.all(jobs), 90000, `a burst of ${n} requests`);
}

function failOnMarker(fake) {
  fake.setScript((rec) => (rec.rawBody && rec.rawBody.includes('[fail500]') ? { type: 'error', status: 500, message: 'injected' } : null));
}

/** Checks every row of <rows> against the request that produced it. */
function checkRows(s, sent, rows) {
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const q of sent) {
    assert.ok(q.id, `request ${q.i} (kind ${q.kind}) got an X-Seam-Request-Id`);
    const r = byId.get(q.id);
    assert.ok(r, `a ledger row for ${q.id} (kind ${q.kind}, status ${q.status})`);
    const what = `row ${q.id} (kind ${q.kind}): ${JSON.stringify(r)}`;
    assert.equal(r.status, q.status, `status, ${what}`);
    assert.equal(typeof r.ts_ms, 'number', `ts_ms, ${what}`);
    assert.ok(Math.abs(r.ts_ms - q.doneAt) < 120000, `ts_ms is a wall-clock time, ${what}`);
    assert.ok(r.ms_total > 0 && r.ms_gateway >= 0 && r.ms_gateway <= r.ms_total + 1e-6, `latencies, ${what}`);
    if (q.kind === 5) {
      assert.equal(q.status, 400, 'malformed JSON is a 400');
      assert.notEqual(r.error, null, `error code, ${what}`);
      assert.equal(r.backend, null, `no backend, ${what}`);
      assert.equal(r.location, null, `no location, ${what}`);
      assert.equal(r.input_tokens, null, `no tokens, ${what}`);
      continue;
    }
    assert.equal(r.ingress, 'openai', `ingress, ${what}`);
    assert.equal(r.backend, q.backend, `backend matches X-Seam-Backend, ${what}`);
    assert.equal(r.rule, q.rule, `rule matches X-Seam-Rule, ${what}`);
    assert.equal(r.location, q.route, `location matches X-Seam-Route, ${what}`);
    assert.equal(r.sensitivity, q.route === 'cloud' ? 'public' : 'internal', `sensitivity, ${what}`);
    assert.equal(r.declared, q.route === 'cloud' ? 'public' : 'internal', `declared, ${what}`);
    assert.ok(r.attempts >= 1, `attempts, ${what}`);
    if (q.kind === 4) {
      assert.ok(q.status >= 500, `the injected upstream 500 fails the request (got ${q.status})`);
      assert.notEqual(r.error, null, `error code, ${what}`);
      assert.equal(r.input_tokens, null, `no usage from a failed upstream, ${what}`);
      assert.equal(r.output_tokens, null, `no usage from a failed upstream, ${what}`);
      continue;
    }
    assert.equal(q.status, 200, `request ${q.i} (kind ${q.kind}) succeeded`);
    assert.equal(r.error, null, `no error, ${what}`);
    assert.equal(r.stream, q.stream ? 1 : 0, `stream flag, ${what}`);
    const up = q.route === 'cloud' ? s.cloud : s.local;
    const rec = up.find(q.marker);
    assert.ok(rec && rec.usage, `the ${q.route} fake saw request ${q.marker}`);
    const u = rec.usage;
    assert.equal(r.input_tokens, u.prompt_tokens, `input_tokens = fake's prompt_tokens, ${what}`);
    assert.equal(r.output_tokens, u.completion_tokens, `output_tokens = fake's completion_tokens, ${what}`);
    assert.equal(r.reasoning_tokens, u.completion_tokens_details.reasoning_tokens, `reasoning_tokens, ${what}`);
    assert.equal(r.cached_tokens, u.prompt_tokens_details.cached_tokens, `cached_tokens, ${what}`);
    // The cloud backend has a price; the local one neither price nor hardware.
    assert.ok(near(r.cost_usd, q.route === 'cloud' ? priced(u) : 0), `cost_usd ${r.cost_usd} vs ${q.route === 'cloud' ? priced(u) : 0}, ${what}`);
    assert.ok(near(r.counterfactual_usd, priced(u)), `counterfactual_usd ${r.counterfactual_usd} vs ${priced(u)}, ${what}`);
    if (q.stream) assert.ok(r.ms_ttft > 0 && r.ms_ttft <= r.ms_total + 1e-6, `ms_ttft of a stream, ${what}`);
  }
}

describe('the usage ledger of a real seam run', { timeout: 180000, skip: noSqliteCli() }, () => {
  const N = 300;
  const TAIL = 60;
  let s;
  let db;
  const sent = [];

  before(async () => {
    db = freshDb('ledger');
    // A batch window long enough that the tail burst is surely still queued
    // when SIGTERM arrives: close must write it.
    s = await startStack(ledgerConfig(db, 1000));
    failOnMarker(s.local);
  });
  after(async () => {
    if (s && s.seam.running) await s.stop();
  });

  it(`a burst of ${N} concurrent requests: one row each, visible within the batch window`, async () => {
    sent.push(...(await burst(s, N, 'burst')));
    assert.equal(new Set(sent.map((q) => q.id)).size, N, 'request ids are unique');
    // Rows are committed while seam runs, within about one batch window.
    await waitUntil(() => countRows(db) === N, { timeoutMs: 5000, intervalMs: 100, what: `${N} rows while seam runs` });
    const mode = sql(db, 'PRAGMA journal_mode')[0].journal_mode;
    assert.equal(mode, 'wal');
  });

  it('after SIGTERM: rows == requests sent, with exactly the values the clients and upstreams saw', async () => {
    sent.push(...(await burst(s, TAIL, 'tail')));
    const code = await s.stop();
    assert.equal(code, 0, `seam exit: ${code}; stderr: ${s.seam.stderr().slice(-2000)}`);
    const rows = sql(db, 'SELECT * FROM requests');
    assert.equal(rows.length, N + TAIL, `rows (${rows.length}) == requests sent (${N + TAIL})`);
    assert.deepEqual(new Set(rows.map((r) => r.id)), new Set(sent.map((q) => q.id)), 'row ids are the X-Seam-Request-Id headers');
    checkRows(s, sent, rows);
    // The mix really happened.
    const routes = new Set(sent.filter((q) => q.status === 200).map((q) => q.route));
    assert.deepEqual(routes, new Set(['local', 'cloud']));
    // The schema is the documented one.
    assert.equal(sql(db, "SELECT value FROM meta WHERE key = 'schema_version'")[0].value, '2');
    // Never prompt or completion text: not in the rows, not in the file.
    const files = [db, `${db}-wal`].filter((f) => fs.existsSync(f));
    for (const f of files) {
      const bytes = fs.readFileSync(f);
      assert.ok(!bytes.includes(SECRET), `no prompt text in ${path.basename(f)}`);
      assert.ok(!bytes.includes('answer 1 ok'), `no completion text in ${path.basename(f)}`);
    }
  });
});

describe('the ledger after SIGKILL', { timeout: 180000, skip: noSqliteCli() }, () => {
  const BATCH_MS = 200;
  let s;
  let db;

  before(async () => {
    db = freshDb('ledger-kill');
    s = await startStack(ledgerConfig(db, BATCH_MS, 2));
    failOnMarker(s.local);
  });
  after(async () => {
    if (s && s.seam.running) await s.stop();
  });

  it('at most the last batch window is missing; the file is consistent; a restart appends', async () => {
    const first = await burst(s, 120, 'early');
    // Several batch windows pass: every early row must be committed.
    await sleep(BATCH_MS * 5);
    const last = await burst(s, 60, 'late');
    const killedAt = Date.now();
    await s.seam.kill();
    await s.local.close();
    await s.cloud.close();

    assert.equal(sql(db, 'PRAGMA integrity_check')[0].integrity_check, 'ok');
    const rows = sql(db, 'SELECT id FROM requests');
    const have = new Set(rows.map((r) => r.id));
    const all = [...first, ...last];
    for (const r of rows) assert.ok(all.some((q) => q.id === r.id), `row ${r.id} belongs to a request sent`);
    for (const q of first) assert.ok(have.has(q.id), `request ${q.id}, answered ${killedAt - q.doneAt} ms before SIGKILL, has its row`);
    // Anything missing was answered within the last window (plus the time
    // the previous batch took to insert, and the test's own scheduling).
    const missing = all.filter((q) => !have.has(q.id));
    for (const q of missing)
      assert.ok(killedAt - q.doneAt <= BATCH_MS + 800, `request ${q.id} answered ${killedAt - q.doneAt} ms before SIGKILL is missing`);
    const rowsBefore = rows.length;

    // A new seam on the same file: it opens it, keeps every row, appends.
    s = await startStack(ledgerConfig(db, BATCH_MS, 2));
    failOnMarker(s.local);
    const more = await burst(s, 12, 'restart');
    assert.equal(await s.stop(), 0);
    const rowsAfter = sql(db, 'SELECT id FROM requests');
    assert.equal(rowsAfter.length, rowsBefore + more.length);
    const ids = new Set(rowsAfter.map((r) => r.id));
    for (const q of more) assert.ok(ids.has(q.id), `row for ${q.id} after the restart`);
  });
});
