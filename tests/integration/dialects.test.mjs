// Client dialects under the policy: applications written for Ollama or
// Anthropic, pointed at seam, are routed by the same rules as OpenAI clients
// (task metadata from headers or the "seam" body key), regulated requests
// stay local whatever the dialect, and every error comes back in the
// client's own shape. The conformance matrix (conformance.test.mjs) covers
// translation per backend; this suite covers routing and the endpoints
// around chatting (/api/tags, /api/show, /api/version, count_tokens).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import { startStack, rid, tagged, rawFetch, assertNoViolations, LOCAL_MODEL, CLOUD_MODEL } from './helpers.mjs';

describe('client dialects under the policy', () => {
  let stack, anthropic;
  const ollama = (headers = {}) => new Ollama({ host: stack.seam.origin, headers });

  before(async () => {
    stack = await startStack();
    anthropic = new Anthropic({ baseURL: stack.seam.origin, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    assertNoViolations(stack.cloud);
    assert.equal(await stack.stop(), 0);
  });

  it('an Ollama application is routed to the cloud when its task allows it', async () => {
    const id = rid();
    const r = await ollama({ 'X-Seam-Kind': 'draft', 'X-Seam-Complexity': 'high', 'X-Seam-Sensitivity': 'public' }).chat({
      model: 'auto',
      messages: [{ role: 'user', content: tagged('public', 'draft a launch note [reply:from the cloud]', id) }],
    });
    assert.equal(r.message.content, 'from the cloud');
    assert.equal(r.done, true);
    assert.ok(stack.cloud.find(id), 'the cloud backend served it');
    assert.ok(!stack.local.find(id), 'the local backend did not');
  });

  it('an Ollama application streams from the cloud with metadata in the body', async () => {
    const id = rid();
    const parts = [];
    const stream = await ollama().chat({
      model: 'auto',
      stream: true,
      seam: { kind: 'draft', complexity: 'high', sensitivity: 'public' },
      messages: [{ role: 'user', content: tagged('public', 'draft [reply:streamed words] [chunks:3]', id) }],
    });
    let last;
    for await (const part of stream) {
      parts.push(part.message.content);
      last = part;
    }
    assert.equal(parts.join(''), 'streamed words');
    assert.equal(last.done, true);
    assert.equal(last.done_reason, 'stop');
    assert.ok(Number.isInteger(last.eval_count) && Number.isInteger(last.total_duration));
    const seen = stack.cloud.find(id);
    assert.ok(seen, 'the cloud backend served it');
    assert.equal(seen.body.seam, undefined, 'the seam key is not forwarded');
  });

  it('a regulated Ollama request stays local even when it asks for drafting', async () => {
    const id = rid();
    const r = await ollama({ 'X-Seam-Kind': 'draft', 'X-Seam-Complexity': 'high', 'X-Seam-Sensitivity': 'regulated' }).generate({
      model: 'auto',
      prompt: tagged('regulated', 'draft a letter [reply:kept local]', id),
      stream: false,
    });
    assert.equal(r.response, 'kept local');
    assert.ok(stack.local.find(id));
    assert.ok(!stack.cloud.find(id));
  });

  it('an Anthropic application is routed by the same rules', async () => {
    const id = rid();
    const msg = await anthropic.messages.create(
      {
        model: 'auto',
        max_tokens: 256,
        messages: [{ role: 'user', content: tagged('public', 'draft it [reply:claude-shaped]', id) }],
      },
      { headers: { 'X-Seam-Kind': 'draft', 'X-Seam-Complexity': 'high', 'X-Seam-Sensitivity': 'public' } },
    );
    assert.equal(msg.type, 'message');
    assert.equal(msg.content[0].text, 'claude-shaped');
    assert.equal(msg.stop_reason, 'end_turn');
    assert.ok(stack.cloud.find(id));
    const sent = stack.cloud.find(id).body;
    assert.equal(sent.max_completion_tokens ?? sent.max_tokens, 256, 'max_tokens carried over');
  });

  it('an Anthropic request with a detected SSN stays local', async () => {
    const id = rid();
    const msg = await anthropic.messages.create(
      {
        model: 'auto',
        max_tokens: 64,
        messages: [{ role: 'user', content: tagged('regulated', 'my SSN is 536-22-1234, draft a form [reply:ok]', id) }],
      },
      { headers: { 'X-Seam-Kind': 'draft', 'X-Seam-Complexity': 'high', 'X-Seam-Sensitivity': 'public' } },
    );
    assert.equal(msg.content[0].text, 'ok');
    assert.ok(stack.local.find(id), 'served locally');
    assert.ok(!stack.cloud.find(id), 'never reached the cloud');
  });

  it('errors come back in each dialect', async () => {
    // Anthropic: a missing max_tokens is Anthropic's own 400.
    await assert.rejects(
      anthropic.messages.create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] }),
      (e) => e instanceof Anthropic.BadRequestError && /max_tokens/.test(e.message) && e.error?.type === 'error',
    );
    // Anthropic: an unknown model is a 404 not_found_error.
    await assert.rejects(
      anthropic.messages.create({ model: 'no-such-model', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
      (e) => e instanceof Anthropic.NotFoundError && e.error?.error?.type === 'not_found_error',
    );
    // Ollama: {"error": "..."} with the status.
    await assert.rejects(ollama().chat({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }], stream: false }), (e) => e.status_code === 404 && typeof e.error === 'string');
    const r = await rawFetch(stack.seam, '/api/chat', { method: 'POST', body: '{"model": "auto", "messages": [' });
    assert.equal(r.status, 400);
    const body = await r.json();
    assert.equal(typeof body.error, 'string');
    // Unknown Ollama paths answer in Ollama's shape too.
    const u = await rawFetch(stack.seam, '/api/pull', { method: 'POST', body: '{}' });
    assert.equal(u.status, 404);
    assert.equal(typeof (await u.json()).error, 'string');
  });

  it('serves the Ollama catalogue and Anthropic token counting from its config', async () => {
    const list = await ollama().list();
    const names = list.models.map((m) => m.name);
    assert.ok(names.includes(LOCAL_MODEL) && names.includes(CLOUD_MODEL) && names.includes('auto'), names.join(','));
    const show = await ollama().show({ model: LOCAL_MODEL });
    assert.ok(show.capabilities.includes('completion'));
    assert.equal(show.model_info['gemma4.context_length'] ?? Object.entries(show.model_info).find(([k]) => k.endsWith('.context_length'))?.[1], 262144);
    await assert.rejects(ollama().show({ model: 'nope' }), (e) => e.status_code === 404);
    const v = await rawFetch(stack.seam, '/api/version');
    assert.match((await v.json()).version, /^\d+\.\d+\.\d+$/);
    const count = await anthropic.messages.countTokens({ model: 'auto', messages: [{ role: 'user', content: 'hello there, how are you today?' }] });
    assert.ok(Number.isInteger(count.input_tokens) && count.input_tokens > 0);
  });
});
