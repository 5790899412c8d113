// Accountability in the request path, one seam process: client keys (401
// in each client's dialect, never echoing the key), per-key rate limits
// (429 with Retry-After), a key's ceiling on what may go to the cloud,
// tenant budgets checked against the backend that would actually serve
// (a spent budget turns cloud routes local, or into 429s), and the
// Prometheus exposition counting what happened.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import { startStack, seamConfig, rid, tagged, rawFetch, assertNoViolations, CLOUD_KEY_ENV } from './helpers.mjs';

const key = (p) => `sk-${p}-` + crypto.randomBytes(8).toString('hex');
const KEYS = {
  app: { env: 'SEAM_ACC_APP', value: key('app') }, // rpm 3
  spender: { env: 'SEAM_ACC_SPEND', value: key('spend') }, // tenant with a budget, on_exhausted: local
  strict: { env: 'SEAM_ACC_STRICT', value: key('strict') }, // tenant with a budget, on_exhausted: reject
  careful: { env: 'SEAM_ACC_CAREFUL', value: key('careful') }, // max_sensitivity_to_cloud: public
  ops: { env: 'SEAM_ACC_ADMIN', value: key('admin') },
};
const ENV = Object.fromEntries(Object.values(KEYS).map((k) => [k.env, k.value]));

function yaml(urls) {
  let y = seamConfig({ ...urls });
  // The cloud backend is priced and cleared for internal data, so that a
  // key's own ceiling is what keeps internal data local.
  y = y.replace(
    `    api_key_env: ${CLOUD_KEY_ENV}\n`,
    `    api_key_env: ${CLOUD_KEY_ENV}\n    clearance: internal\n    price: { input_per_mtok: 1000, output_per_mtok: 1000 }\n`,
  );
  y = y.replace('  - { name: sensitive-stays-local, when: { sensitivity: [internal, regulated] }, route: local }', '  - { name: sensitive-stays-local, when: { sensitivity: [regulated] }, route: local }');
  return (
    y +
    `auth:
  admin_key_env: ${KEYS.ops.env}
  protect_metrics: true
  keys:
    - { name: app, key_env: ${KEYS.app.env}, tenant: apps, rpm: 3 }
    - { name: spender, key_env: ${KEYS.spender.env}, tenant: research }
    - { name: strict, key_env: ${KEYS.strict.env}, tenant: finance }
    - { name: careful, key_env: ${KEYS.careful.env}, tenant: apps, max_sensitivity_to_cloud: public }
budgets:
  - { tenant: research, usd_per_day: 0.01, on_exhausted: local }
  - { tenant: finance, usd_per_day: 0.01, on_exhausted: reject }
state: { sqlite: "" }
`
  );
}

// Drafting at high complexity goes to the cloud by the standard rules.
const CLOUD_HEADERS = { 'X-Seam-Kind': 'draft', 'X-Seam-Complexity': 'high', 'X-Seam-Sensitivity': 'public' };

describe('client keys, rate limits, budgets and metrics', () => {
  let stack;
  const openai = (k, opts = {}) => new OpenAI({ baseURL: stack.seam.baseURL, apiKey: k, maxRetries: 0, ...opts });

  before(async () => {
    stack = await startStack(yaml, { env: ENV });
  });
  after(async () => {
    assert.equal(await stack.stop(), 0);
  });

  it('refuses a missing or unknown key in each dialect, naming neither', async () => {
    const bad = key('nope');
    await assert.rejects(
      openai(bad).chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] }),
      (e) => e instanceof OpenAI.AuthenticationError && e.code === 'invalid_api_key' && !e.message.includes(bad),
    );
    const anthropic = new Anthropic({ baseURL: stack.seam.origin, apiKey: bad, maxRetries: 0 });
    await assert.rejects(
      anthropic.messages.create({ model: 'auto', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
      (e) => e instanceof Anthropic.AuthenticationError && e.error?.error?.type === 'authentication_error',
    );
    const ollama = new Ollama({ host: stack.seam.origin });
    await assert.rejects(ollama.chat({ model: 'auto', messages: [{ role: 'user', content: 'hi' }], stream: false }), (e) => e.status_code === 401 && /missing API key/.test(e.error));
    for (const line of stack.seam.logs) assert.ok(!JSON.stringify(line).includes(bad), 'a key never reaches the log');
  });

  it('accepts a key as Bearer or as x-api-key', async () => {
    const r = await openai(KEYS.spender.value).chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: tagged('internal', 'hello') }] });
    assert.ok(r.choices[0].message.content);
    const anthropic = new Anthropic({ baseURL: stack.seam.origin, apiKey: KEYS.spender.value, maxRetries: 0 });
    const m = await anthropic.messages.create({ model: 'auto', max_tokens: 16, messages: [{ role: 'user', content: tagged('internal', 'hello') }] });
    assert.equal(m.type, 'message');
  });

  it('limits a key to its requests per minute with Retry-After', async () => {
    const c = openai(KEYS.app.value);
    for (let i = 0; i < 3; i++) await c.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: tagged('internal', `n${i}`) }] });
    const r = await rawFetch(stack.seam, '/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS.app.value}` },
      body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'one too many' }] }),
    });
    assert.equal(r.status, 429);
    const ra = Number(r.headers.get('retry-after'));
    assert.ok(ra >= 1 && ra <= 60, `Retry-After ${ra}`);
    assert.equal((await r.json()).error.code, 'rate_limit_exceeded');
  });

  it("keeps data above a key's cloud ceiling local, though the backend's clearance would allow it", async () => {
    const id = rid();
    const res = await openai(KEYS.careful.value)
      .chat.completions.create(
        { model: 'auto', messages: [{ role: 'user', content: tagged('internal', 'draft this [reply:kept]', id) }] },
        { headers: { ...CLOUD_HEADERS, 'X-Seam-Sensitivity': 'internal' } },
      )
      .withResponse();
    assert.equal(res.data.choices[0].message.content, 'kept');
    assert.equal(res.response.headers.get('x-seam-backend'), 'local');
    assert.match(res.response.headers.get('x-seam-reason'), /may not send internal data to the cloud/);
    assert.ok(stack.local.find(id) && !stack.cloud.find(id));
  });

  it('serves a tenant locally once its budget is spent (on_exhausted: local)', async () => {
    const c = openai(KEYS.spender.value);
    // At $1000 per million tokens, one cloud answer spends the $0.01 budget.
    const first = rid();
    const a = await c.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: tagged('public', 'draft a long thing', first) }] }, { headers: CLOUD_HEADERS }).withResponse();
    assert.equal(a.response.headers.get('x-seam-backend'), 'frontier');
    assert.ok(stack.cloud.find(first));
    const second = rid();
    const b = await c.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: tagged('public', 'draft another [reply:local now]', second) }] }, { headers: CLOUD_HEADERS }).withResponse();
    assert.equal(b.data.choices[0].message.content, 'local now');
    assert.equal(b.response.headers.get('x-seam-backend'), 'local');
    assert.match(b.response.headers.get('x-seam-reason'), /budget of tenant research spent/);
    assert.ok(!stack.cloud.find(second), 'the spent budget kept it off the cloud');
    // A model pinned to the cloud answers to the same budget.
    const third = rid();
    const p = await c.chat.completions.create({ model: 'gpt-5.1', messages: [{ role: 'user', content: tagged('public', 'pinned', third) }] }).withResponse();
    assert.equal(p.response.headers.get('x-seam-backend'), 'local');
    assert.ok(!stack.cloud.find(third));
  });

  it('refuses a tenant once its budget is spent (on_exhausted: reject), cloud routes only', async () => {
    const c = openai(KEYS.strict.value);
    await c.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: tagged('public', 'spend it') }] }, { headers: CLOUD_HEADERS });
    await assert.rejects(
      c.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: tagged('public', 'more') }] }, { headers: CLOUD_HEADERS }),
      (e) => e instanceof OpenAI.RateLimitError && e.code === 'budget_exhausted' && Number(e.headers.get('retry-after')) > 0,
    );
    // Local work is not charged to the budget and goes on.
    const r = await c.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: tagged('internal', 'local work [reply:fine]') }] });
    assert.equal(r.choices[0].message.content, 'fine');
  });

  it('exposes metrics to the admin key only, counting what happened', async () => {
    const anon = await rawFetch(stack.seam, '/metrics');
    assert.equal(anon.status, 401);
    const r = await rawFetch(stack.seam, '/metrics', { headers: { authorization: `Bearer ${KEYS.ops.value}` } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    const text = await r.text();
    const sum = (re) => text.split('\n').filter((l) => re.test(l)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    assert.ok(sum(/^seam_blocked_requests_total\{reason="auth"\}/) >= 3, 'three refused keys');
    assert.ok(sum(/^seam_blocked_requests_total\{reason="rate_limit"\}/) >= 1);
    assert.ok(sum(/^seam_blocked_requests_total\{reason="budget"\}/) >= 1);
    assert.ok(sum(/^seam_requests_total\{.*backend="frontier".*status="200"/) >= 2);
    assert.ok(sum(/^seam_cost_usd_total\{backend="frontier"\}/) > 0.01);
    assert.ok(!text.includes(KEYS.ops.value) && !text.includes(KEYS.spender.value));
    assertNoViolations(stack.cloud);
  });
});
