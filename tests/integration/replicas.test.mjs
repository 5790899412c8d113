// Several replicas sharing one redis-server (issue 6, point 8): two seam
// processes with the same configuration (state.redis pointing at a
// redis-server this file starts) enforce ONE rate limit per key and ONE
// budget per tenant between them. Requests alternate between the two
// processes, so neither sees enough traffic on its own to hit a limit: a
// 429 or a budget reroute proves the count is shared.
//
// Then Redis goes away: rate limits fail open, budgets fail closed (the
// defaults of state.rate_limit_fail_open / state.budget_fail_open), and
// when a redis-server is back on the same port the replicas reconnect by
// themselves.
//
// Skipped when redis-server is not installed (CI installs it:
// scripts/install-deps.sh).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  startSeam,
  startFakeOpenAI,
  tmpDir,
  deadPort,
  rawPost,
  tagged,
  rid,
  waitUntil,
  sleep,
  routingHeaders,
  assertOpenAIError,
  assertNoViolations,
  LOCAL_MODEL,
  CLOUD_MODEL,
  CLOUD_KEY_ENV,
} from './helpers.mjs';

// ------------------------------------------------------------- redis-server
function redisMissing() {
  const r = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return r.error || r.status !== 0 ? 'redis-server is not installed (apt-get install redis-server)' : false;
}

/** Parses one RESP value at <i>; null when <buf> does not hold all of it yet. */
function parseResp(buf, i) {
  const nl = buf.indexOf('\r\n', i);
  if (nl < 0) return null;
  const type = String.fromCharCode(buf[i]);
  const line = buf.toString('utf8', i + 1, nl);
  const next = nl + 2;
  switch (type) {
    case '+':
      return { value: line, next };
    case '-':
      return { value: new Error(line), next };
    case ':':
      return { value: Number(line), next };
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, next };
      if (buf.length < next + n + 2) return null;
      return { value: buf.toString('utf8', next, next + n), next: next + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, next };
      const out = [];
      let j = next;
      for (let k = 0; k < n; k++) {
        const r = parseResp(buf, j);
        if (!r) return null;
        out.push(r.value);
        j = r.next;
      }
      return { value: out, next: j };
    }
    default:
      throw new Error(`unexpected RESP type ${JSON.stringify(type)}`);
  }
}

/** One command on a fresh connection (tests only): resolves the reply. */
function redisCommand(port, args, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => {
      sock.destroy();
      reject(new Error(`redis ${args[0]} timed out`));
    }, timeoutMs);
    sock.on('connect', () => {
      sock.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join(''));
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const r = parseResp(buf, 0);
      if (r) {
        clearTimeout(t);
        sock.end();
        if (r.value instanceof Error) reject(r.value);
        else resolve(r.value);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/** Starts redis-server on <port> (no persistence) and waits for PONG. */
async function startRedis(port) {
  const dir = fs.mkdtempSync(path.join(tmpDir(), 'redis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let errText = '';
  proc.stderr.on('data', (d) => (errText += d));
  const exited = new Promise((resolve) => proc.on('close', resolve));
  process.on('exit', () => {
    try {
      proc.kill('SIGKILL');
    } catch {
      /* gone */
    }
  });
  await waitUntil(async () => (await redisCommand(port, ['PING'], 500)) === 'PONG', { timeoutMs: 5000, what: `redis-server on port ${port} (${errText})` });
  return {
    port,
    async kill() {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** The tenant's spend of the current UTC day in Redis, whatever the key prefix. */
async function daySpend(port, tenant) {
  const keys = await redisCommand(port, ['KEYS', `*budget:{${tenant}}:d:*`]);
  if (!keys || keys.length === 0) return 0;
  assert.equal(keys.length, 1, `one day key for ${tenant}: ${JSON.stringify(keys)}`);
  const v = await redisCommand(port, ['GET', keys[0]]);
  return v === null ? 0 : Number(v);
}

// ------------------------------------------------------------------- config
const RPM = 4;
// 1000 USD per million tokens both ways and 100 + 100 tokens per cloud
// answer: every cloud request costs exactly 0.2 USD.
const PRICE = { input_per_mtok: 1000, output_per_mtok: 1000 };
const USAGE = {
  prompt_tokens: 100,
  completion_tokens: 100,
  total_tokens: 200,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
};
const COST = (USAGE.prompt_tokens * PRICE.input_per_mtok + USAGE.completion_tokens * PRICE.output_per_mtok) / 1e6;

const KEYS = {
  limited: { env: 'SEAM_REPLICA_LIMITED_KEY', tenant: 'ratelimited', extra: `, rpm: ${RPM}` },
  research: { env: 'SEAM_REPLICA_RESEARCH_KEY', tenant: 'research', extra: '' },
  finance: { env: 'SEAM_REPLICA_FINANCE_KEY', tenant: 'finance', extra: '' },
  ops: { env: 'SEAM_REPLICA_OPS_KEY', tenant: 'ops', extra: '' },
};
for (const k of Object.values(KEYS)) k.value = 'sk-replica-' + crypto.randomBytes(8).toString('hex');
const KEY_ENV = Object.fromEntries(Object.values(KEYS).map((k) => [k.env, k.value]));

function yaml({ local, cloud, redisPort, db }) {
  return `# two replicas sharing redis (generated)
listen: 127.0.0.1:0
workers: 2
limits: { max_body_bytes: 1048576, request_timeout_ms: 20000 }
backends:
  - name: local
    provider: openai
    url: ${local}
    location: local
    models: [${LOCAL_MODEL}]
    context_window: 262144
  - name: frontier
    provider: openai
    url: ${cloud}
    location: cloud
    models: [${CLOUD_MODEL}]
    context_window: 400000
    api_key_env: ${CLOUD_KEY_ENV}
    price: { input_per_mtok: ${PRICE.input_per_mtok}, output_per_mtok: ${PRICE.output_per_mtok} }
pools:
  local: [local]
  cloud: [frontier]
policy:
  rules:
    - { name: sensitive-stays-local, when: { sensitivity: [internal, regulated] }, route: local }
    - { name: frontier-drafting, when: { kind: [draft], complexity: [high] }, route: cloud }
  default: local
auth:
  keys:
${Object.entries(KEYS)
  .map(([name, k]) => `    - { name: ${name}-app, key_env: ${k.env}, tenant: ${k.tenant}${k.extra} }`)
  .join('\n')}
budgets:
  - { tenant: research, usd_per_day: ${2.5 * COST}, on_exhausted: local }
  - { tenant: finance, usd_per_day: ${1.5 * COST}, on_exhausted: reject }
  - { tenant: ops, usd_per_day: 1000, on_exhausted: local }
state:
  sqlite: ${db}
  batch_ms: 50
  redis: redis://127.0.0.1:${redisPort}
`;
}

// ----------------------------------------------------------------- requests
/** A request for the cloud (public, high-complexity draft) or for the local pool. */
async function ask(seam, key, { cloud = false, marker = rid() } = {}) {
  const body = JSON.stringify({
    model: 'auto',
    messages: [{ role: 'user', content: tagged(cloud ? 'public' : 'internal', 'draft the note [reply:done]', marker) }],
  });
  const headers = { authorization: `Bearer ${KEYS[key].value}`, 'x-seam-sensitivity': cloud ? 'public' : 'internal' };
  if (cloud) Object.assign(headers, { 'x-seam-kind': 'draft', 'x-seam-complexity': 'high' });
  const r = await rawPost(seam, body, headers);
  return { ...r, marker, routing: routingHeaders(r.headers) };
}

describe('two seam replicas share one rate limit and one budget through redis', { timeout: 120000, skip: redisMissing() }, () => {
  let redis;
  let local;
  let cloud;
  let replicas = [];

  before(async () => {
    redis = await startRedis(await deadPort());
    local = await startFakeOpenAI({ name: 'local', model: LOCAL_MODEL });
    cloud = await startFakeOpenAI({ name: 'cloud', model: CLOUD_MODEL, clearance: 'public' });
    cloud.setScript(() => ({ type: 'text', content: 'done', usage: USAGE }));
    for (const name of ['a', 'b']) {
      const db = path.join(tmpDir(), `replica-${name}-${crypto.randomBytes(4).toString('hex')}.db`);
      replicas.push(await startSeam(yaml({ local: local.url, cloud: cloud.url, redisPort: redis.port, db }), { env: KEY_ENV }));
    }
    // Both replicas' workers connect on their own; a first request per
    // replica answered without a degraded decision shows they are up.
    for (const s of replicas) {
      await waitUntil(async () => (await ask(s, 'ops', { cloud: true })).routing.backend === 'frontier', { timeoutMs: 5000, what: 'replica connected to redis' });
    }
  });

  after(async () => {
    const codes = [];
    for (const s of replicas) codes.push(await s.stop());
    replicas = [];
    await local?.close();
    await cloud?.close();
    await redis?.kill();
    for (const c of codes) assert.equal(c, 0, 'seam exits cleanly');
  });

  it(`one rate limit: the ${RPM + 1}th request of a key with rpm ${RPM}, alternating replicas, gets 429 with Retry-After`, async () => {
    for (let i = 0; i < RPM; i++) {
      const r = await ask(replicas[i % 2], 'limited');
      assert.equal(r.status, 200, `request ${i + 1} of ${RPM} (replica ${i % 2 ? 'b' : 'a'}) is admitted: ${r.text}`);
    }
    for (const [i, s] of [replicas[RPM % 2], replicas[(RPM + 1) % 2]].entries()) {
      const r = await ask(s, 'limited');
      assert.equal(r.status, 429, `request ${RPM + 1 + i} is over the shared limit: ${r.text}`);
      const ra = r.headers.get('retry-after');
      assert.match(ra ?? '', /^[0-9]+$/, 'Retry-After is whole seconds');
      assert.ok(Number(ra) >= 1 && Number(ra) <= Math.ceil(60 / RPM) + 1, `Retry-After ${ra} is about one refill (${60 / RPM} s)`);
      assertOpenAIError(r.json);
      assert.equal(local.find(r.marker), undefined, 'a limited request never reaches a backend');
    }
    // Another key is not affected.
    assert.equal((await ask(replicas[0], 'research')).status, 200);
  });

  it('one budget: once the spend of both replicas reaches it, cloud-routed requests are served locally (reason budget)', async () => {
    let spent = 0;
    const cloudBefore = cloud.requests.length;
    for (let i = 0; i < 3; i++) {
      const s = replicas[i % 2];
      const r = await ask(s, 'research', { cloud: true });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.routing.backend, 'frontier', `request ${i + 1}: ${spent} of ${2.5 * COST} USD spent, still cloud (${JSON.stringify(r.routing)})`);
      spent += COST;
      // The spend is recorded when a request ends; wait until Redis holds it
      // so the next request, on the other replica, sees it.
      await waitUntil(async () => Math.abs((await daySpend(redis.port, 'research')) - spent) < 1e-9, { timeoutMs: 3000, what: `research day spend ${spent} in redis` });
    }
    assert.equal(cloud.requests.length - cloudBefore, 3, 'three requests reached the cloud');
    // Neither replica spent 2.5 × COST on its own (a: 2, b: 1 requests);
    // together they did.
    for (let i = 3; i < 6; i++) {
      const r = await ask(replicas[i % 2], 'research', { cloud: true });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.routing.backend, 'local', `request ${i + 1} after the shared budget ran out is served locally: ${JSON.stringify(r.routing)}`);
      assert.equal(r.routing.route, 'local', 'X-Seam-Route names the local pool');
      assert.match(r.routing.reason ?? '', /budget/i, 'X-Seam-Reason says budget');
      assert.ok(local.find(r.marker), 'the local backend served it');
      assert.equal(cloud.find(r.marker), undefined, 'the cloud never saw it');
    }
    // The shared counter equals the sum of what the cloud fake billed.
    assert.ok(Math.abs((await daySpend(redis.port, 'research')) - 3 * COST) < 1e-9, 'redis holds exactly the cloud spend');
    assertNoViolations(cloud);
  });

  it('on_exhausted: reject answers 429 once the budget is spent across replicas', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await ask(replicas[i % 2], 'finance', { cloud: true });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.routing.backend, 'frontier');
      await waitUntil(async () => Math.abs((await daySpend(redis.port, 'finance')) - (i + 1) * COST) < 1e-9, { timeoutMs: 3000, what: 'finance day spend in redis' });
    }
    // Replica a spent 1 × COST of 1.5 × COST itself: only the shared
    // count makes this a 429.
    const r = await ask(replicas[0], 'finance', { cloud: true });
    assert.equal(r.status, 429, `over the shared budget: ${r.text}`);
    assertOpenAIError(r.json);
    assert.equal(cloud.find(r.marker), undefined, 'a rejected request never reaches the cloud');
    assert.equal(local.find(r.marker), undefined, 'reject means reject, not local');
  });

  it('redis down: rate limits fail open, budgets fail closed; both come back with redis', async () => {
    await redis.kill();
    await sleep(200);
    // The rate-limited key is admitted again (fail open)...
    for (const s of replicas) {
      const r = await ask(s, 'limited');
      assert.equal(r.status, 200, `rate limit fails open while redis is down: ${r.text}`);
    }
    // ...and a tenant far from its budget is kept off the cloud (fail closed).
    for (const s of replicas) {
      const r = await ask(s, 'ops', { cloud: true });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.routing.backend, 'local', `budget fails closed while redis is down: ${JSON.stringify(r.routing)}`);
      assert.match(r.routing.reason ?? '', /budget/i);
    }
    // A redis-server back on the same port (empty: no persistence) is
    // picked up without restarting seam.
    redis = await startRedis(redis.port);
    for (const s of replicas) {
      await waitUntil(async () => (await ask(s, 'ops', { cloud: true })).routing.backend === 'frontier', { timeoutMs: 10000, what: 'cloud routing after redis is back' });
    }
    assert.ok((await daySpend(redis.port, 'ops')) > 0, 'spend is shared again');
  });
});
