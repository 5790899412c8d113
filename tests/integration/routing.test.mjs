// Routing through a real seam with the OpenAI SDK: the seed routing table in
// every combination, task metadata from headers and from the body, model
// selection (auto, pinned, rerouted), what the upstream receives, and the
// routing headers.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startStack,
  userMsg,
  rid,
  tagged,
  assertRouting,
  assertNoViolations,
  collectStream,
  CLOUD_KEY,
  LOCAL_MODEL,
  CLOUD_MODEL,
} from './helpers.mjs';

const KINDS = ['summarize', 'classify', 'draft', 'code', 'chat', 'embed', 'other'];
const SENS = ['public', 'internal', 'regulated'];
const CPLX = ['low', 'medium', 'high'];

/** The seed routing table (issue 2). */
function expected({ kind = 'chat', sensitivity = 'internal', complexity = 'medium', big = false }) {
  if (sensitivity !== 'public') return { route: 'local', backend: 'local', rule: 'sensitive-stays-local', model: LOCAL_MODEL };
  if (big) return { route: 'local', backend: 'local', rule: 'high-volume-stays-local', model: LOCAL_MODEL };
  if (kind === 'draft' && complexity === 'high') return { route: 'cloud', backend: 'frontier', rule: 'frontier-drafting', model: CLOUD_MODEL };
  return { route: 'local', backend: 'local', rule: 'default', model: LOCAL_MODEL };
}

function metaHeaders(t) {
  const h = {};
  if (t.kind) h['X-Seam-Kind'] = t.kind;
  if (t.sensitivity) h['X-Seam-Sensitivity'] = t.sensitivity;
  if (t.complexity) h['X-Seam-Complexity'] = t.complexity;
  return h;
}

describe('routing through seam (OpenAI SDK, non-stream and stream)', { timeout: 180000 }, () => {
  let s;
  before(async () => {
    s = await startStack();
  });
  after(async () => {
    if (s) await s.stop();
  });

  /** Sends one request; returns {data, response, id, up (the fake that got it), upReq}. */
  async function send({ task = {}, via = 'headers', model = 'auto', text = 'hello', effSens, extra = {}, stream = false, reply = 'routed ok' }) {
    const id = rid();
    const sens = effSens ?? task.sensitivity ?? 'internal';
    const body = { model, messages: [userMsg(sens, `${text} [reply:${reply}]`, id)], ...extra };
    const opts = {};
    if (via === 'headers') opts.headers = metaHeaders(task);
    else if (Object.keys(task).length) body.seam = { ...task };
    if (stream) body.stream = true;
    const { data, response } = await s.client.chat.completions.create(body, opts).withResponse();
    let content;
    if (stream) content = (await collectStream(data)).content;
    else content = data.choices[0].message.content;
    const inLocal = s.local.find(id);
    const inCloud = s.cloud.find(id);
    assert.ok(!(inLocal && inCloud), 'a request reached exactly one upstream, not both');
    const up = inLocal ? 'local' : inCloud ? 'cloud' : null;
    return { data, response, id, content, up, upReq: inLocal ?? inCloud };
  }

  function checkRouted(r, exp) {
    assert.equal(r.up, exp.route === 'cloud' ? 'cloud' : 'local', `request went to the ${exp.route} upstream`);
    assertRouting(r.response, { route: exp.route, backend: exp.backend, rule: exp.rule });
    assert.equal(r.upReq.body.model, exp.model, 'the chosen backend\'s first model is sent upstream');
    assert.equal(r.upReq.path, '/v1/chat/completions');
    assert.equal(r.upReq.method, 'POST');
    assert.ok(!('seam' in r.upReq.body), 'the seam key is removed before forwarding');
  }

  it('defaults (no metadata, model auto): internal → local by sensitive-stays-local', async () => {
    const r = await send({ task: {} });
    assert.equal(r.content, 'routed ok');
    checkRouted(r, expected({}));
  });

  it('public chat (header) → local by the default rule', async () => {
    const r = await send({ task: { sensitivity: 'public' } });
    checkRouted(r, expected({ sensitivity: 'public' }));
  });

  it('public high-complexity draft (headers) → cloud by frontier-drafting, with the cloud API key', async () => {
    const r = await send({ task: { kind: 'draft', sensitivity: 'public', complexity: 'high' }, reply: 'from the cloud' });
    assert.equal(r.content, 'from the cloud');
    checkRouted(r, expected({ kind: 'draft', sensitivity: 'public', complexity: 'high' }));
    assert.equal(r.upReq.headers.authorization, `Bearer ${CLOUD_KEY}`, 'cloud upstream gets Authorization: Bearer <api_key_env value>');
  });

  it('the same task declared in the body "seam" key → cloud; the key is stripped', async () => {
    const r = await send({ task: { kind: 'draft', sensitivity: 'public', complexity: 'high' }, via: 'body' });
    checkRouted(r, expected({ kind: 'draft', sensitivity: 'public', complexity: 'high' }));
    assert.equal(r.upReq.rawBody.includes('"seam"'), false, 'no "seam" key anywhere in the forwarded body');
  });

  it('the local upstream never receives an Authorization header (no api_key_env)', async () => {
    const r = await send({ task: { sensitivity: 'regulated' } });
    assert.equal(r.up, 'local');
    assert.equal(r.upReq.headers.authorization, undefined, 'no authorization header to the local upstream');
    // The client's own key is never forwarded anywhere.
    for (const req of [...s.local.chatRequests(), ...s.cloud.chatRequests()]) {
      assert.ok(!JSON.stringify(req.headers).includes('sk-seam-client-key'), 'client API key not forwarded upstream');
    }
  });

  it('regulated and internal high-complexity drafts stay local', async () => {
    for (const sensitivity of ['regulated', 'internal']) {
      for (const via of ['headers', 'body']) {
        const task = { kind: 'draft', sensitivity, complexity: 'high' };
        const r = await send({ task, via });
        checkRouted(r, expected(task));
      }
    }
  });

  it('a ~300 KB public draft prompt → local by high-volume-stays-local; a small one → cloud', async () => {
    const task = { kind: 'draft', sensitivity: 'public', complexity: 'high' };
    const big = 'lorem ipsum dolor sit amet '.repeat(11500); // ~310 KB ≈ 77k tokens
    const r = await send({ task, text: big });
    checkRouted(r, expected({ ...task, big: true }));
    assert.ok(r.upReq.rawBody.length > 300000, 'the whole prompt was forwarded');
    const small = await send({ task, text: 'lorem ipsum '.repeat(100) });
    checkRouted(small, expected(task));
  });

  it('max_tokens / max_completion_tokens count toward tokens (70000 → local, 1000 → cloud)', async () => {
    const task = { kind: 'draft', sensitivity: 'public', complexity: 'high' };
    for (const key of ['max_tokens', 'max_completion_tokens']) {
      const big = await send({ task, extra: { [key]: 70000 } });
      checkRouted(big, expected({ ...task, big: true }));
      const small = await send({ task, extra: { [key]: 1000 } });
      checkRouted(small, expected(task));
    }
  });

  it('header and body metadata can be mixed (kind in a header, the rest in the body)', async () => {
    const id = rid();
    const { response } = await s.client.chat.completions
      .create(
        { model: 'auto', messages: [userMsg('public', 'mixed', id)], seam: { sensitivity: 'public', complexity: 'high' } },
        { headers: { 'X-Seam-Kind': 'draft' } },
      )
      .withResponse();
    assert.ok(s.cloud.find(id), 'reached the cloud upstream');
    assertRouting(response, { route: 'cloud', backend: 'frontier', rule: 'frontier-drafting' });
  });

  it('every kind × sensitivity × complexity × tokens (below/above 64000) combination, streamed', async () => {
    const failures = [];
    let n = 0;
    for (const kind of KINDS) {
      for (const sensitivity of SENS) {
        for (const complexity of CPLX) {
          for (const big of [false, true]) {
            const task = { kind, sensitivity, complexity };
            const exp = expected({ ...task, big });
            const via = n++ % 2 ? 'headers' : 'body';
            const reply = `combo ${kind} ${sensitivity} ${complexity} ${big ? 'big' : 'small'}`;
            const r = await send({ task, via, stream: true, reply, extra: { max_tokens: big ? 70000 : 500 } });
            const h = r.response.headers;
            const got = { up: r.up, route: h.get('x-seam-route'), backend: h.get('x-seam-backend'), rule: h.get('x-seam-rule'), model: r.upReq?.body?.model, content: r.content };
            const want = { up: exp.route, route: exp.route, backend: exp.backend, rule: exp.rule, model: exp.model, content: reply };
            try {
              assert.deepEqual(got, want);
            } catch {
              failures.push({ task, big, via, got, want });
            }
          }
        }
      }
    }
    assert.equal(n, KINDS.length * SENS.length * CPLX.length * 2);
    assert.deepEqual(failures, [], `${failures.length} combinations misrouted`);
  });

  it('every routed answer carries x-seam-request-id, -route, -backend, -rule, -reason; request ids differ', async () => {
    const ids = new Set();
    for (const stream of [false, true]) {
      for (let i = 0; i < 3; i++) {
        const r = await send({ task: { sensitivity: 'public' }, stream });
        const h = assertRouting(r.response, { route: 'local', backend: 'local', rule: 'default' });
        ids.add(h.requestId);
      }
    }
    assert.equal(ids.size, 6, 'x-seam-request-id is unique per request');
  });

  it('the upstream receives the client fields intact, the seam key removed', async () => {
    const id = rid();
    const tools = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather for a city',
          parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1 } }, required: ['city'] },
        },
      },
    ];
    const messages = [
      { role: 'system', content: tagged('internal', 'You are terse.', id + '-sys') },
      { role: 'user', content: [{ type: 'text', text: tagged('internal', 'first part', id) }, { type: 'text', text: 'second part ünïcödé ✓ 日本' }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'call_abc', content: '{"temp_c":-3}' },
      { role: 'user', content: 'and tomorrow? [sens:internal]' },
    ];
    const body = {
      model: 'auto',
      messages,
      temperature: 0.3,
      top_p: 0.9,
      seed: 42,
      stop: ['END', 'STOP'],
      max_completion_tokens: 256,
      tools,
      tool_choice: 'auto',
      response_format: { type: 'json_object' },
      seam: { kind: 'code', sensitivity: 'internal', complexity: 'low' },
    };
    const { response } = await s.client.chat.completions.create(body).withResponse();
    assertRouting(response, { route: 'local', rule: 'sensitive-stays-local' });
    const up = s.local.find(id);
    assert.ok(up, 'reached the local upstream');
    const b = up.body;
    assert.ok(!('seam' in b), 'seam key removed');
    assert.equal(b.model, LOCAL_MODEL);
    assert.equal(b.temperature, 0.3);
    assert.equal(b.top_p, 0.9);
    assert.equal(b.seed, 42);
    assert.deepEqual(b.stop, ['END', 'STOP']);
    assert.equal(b.max_completion_tokens ?? b.max_tokens, 256, 'max_completion_tokens (or max_tokens) = 256');
    assert.deepEqual(b.tools, tools);
    assert.deepEqual(b.tool_choice, 'auto');
    assert.deepEqual(b.response_format, { type: 'json_object' });
    assert.ok(!b.stream, 'non-stream request is forwarded non-stream');
    // Messages: same roles, same text, same tool calls and tool_call_id.
    const textOf = (c) => (c == null ? '' : typeof c === 'string' ? c : c.map((p) => p.text ?? '').join(''));
    assert.equal(b.messages.length, messages.length, 'same number of messages');
    for (let i = 0; i < messages.length; i++) {
      const want = messages[i];
      const got = b.messages[i];
      assert.equal(got.role, want.role, `message ${i} role`);
      assert.equal(textOf(got.content), textOf(want.content), `message ${i} text`);
      if (want.tool_calls) assert.deepEqual(got.tool_calls, want.tool_calls, `message ${i} tool_calls`);
      if (want.tool_call_id) assert.equal(got.tool_call_id, want.tool_call_id, `message ${i} tool_call_id`);
    }
  });

  it('non-stream response is OpenAI-shaped', async () => {
    const r = await send({ task: { sensitivity: 'public' }, reply: 'shape check' });
    const d = r.data;
    assert.equal(typeof d.id, 'string');
    assert.equal(d.object, 'chat.completion');
    assert.equal(typeof d.created, 'number');
    assert.equal(typeof d.model, 'string');
    assert.equal(d.choices.length, 1);
    assert.equal(d.choices[0].index, 0);
    assert.equal(d.choices[0].finish_reason, 'stop');
    assert.equal(d.choices[0].message.role, 'assistant');
    assert.equal(d.choices[0].message.content, 'shape check');
    assert.equal(typeof d.usage.prompt_tokens, 'number');
    assert.equal(typeof d.usage.completion_tokens, 'number');
    assert.equal(d.usage.total_tokens, d.usage.prompt_tokens + d.usage.completion_tokens);
    assert.deepEqual(
      { p: d.usage.prompt_tokens, c: d.usage.completion_tokens },
      { p: r.upReq.usage.prompt_tokens, c: r.upReq.usage.completion_tokens },
      'usage as reported by the upstream',
    );
  });

  it('model pinned to a listed model: gemma4:31b → local (pinned) even for a public high draft', async () => {
    const r = await send({ model: LOCAL_MODEL, task: { kind: 'draft', sensitivity: 'public', complexity: 'high' } });
    checkRouted(r, { route: 'local', backend: 'local', rule: 'pinned', model: LOCAL_MODEL });
  });

  it('model pinned to gpt-5.1 with public data → cloud (pinned)', async () => {
    const r = await send({ model: CLOUD_MODEL, task: { sensitivity: 'public' } });
    checkRouted(r, { route: 'cloud', backend: 'frontier', rule: 'pinned', model: CLOUD_MODEL });
    assert.equal(r.response.headers.get('x-seam-rerouted'), null, 'not rerouted');
  });

  it('model pinned to gpt-5.1 with internal, regulated or undeclared sensitivity → rerouted local (X-Seam-Rerouted: clearance)', async () => {
    for (const task of [{ sensitivity: 'internal' }, { sensitivity: 'regulated' }, {}]) {
      for (const stream of [false, true]) {
        const r = await send({ model: CLOUD_MODEL, task, stream, reply: 'kept local' });
        assert.equal(r.up, 'local', `rerouted to local (${JSON.stringify(task)}, stream ${stream})`);
        assert.equal(r.content, 'kept local');
        assertRouting(r.response, { route: 'local', backend: 'local', rerouted: 'clearance' });
        assert.equal(r.upReq.body.model, LOCAL_MODEL, 'the local backend gets its own model');
      }
    }
  });

  it('an unknown model → 404 model_not_found, nothing forwarded', async () => {
    const before = s.local.chatRequests().length + s.cloud.chatRequests().length;
    await assert.rejects(
      s.client.chat.completions.create({ model: 'no-such-model-9000', messages: [userMsg('internal', 'x')] }),
      (e) => {
        assert.equal(e.status, 404);
        assert.equal(e.code, 'model_not_found');
        assert.equal(typeof e.error?.message, 'string');
        return true;
      },
    );
    assert.equal(s.local.chatRequests().length + s.cloud.chatRequests().length, before, 'no upstream request');
  });

  it('invariant: no internal or regulated request reached the cloud upstream', () => {
    assertNoViolations(s.cloud);
    for (const r of s.cloud.chatRequests()) assert.match(r.rawBody, /\[sens:public\]/);
  });

  it('seam exits 0 on SIGTERM', async () => {
    const code = await s.seam.stop();
    assert.equal(code, 0, `exit code; stderr tail:\n${s.seam.stderr().slice(-2000)}`);
  });
});
