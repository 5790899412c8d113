// The fake Anthropic, Ollama and Gemini upstreams speak their exact wire
// formats (checked here with raw HTTP, without seam): Anthropic's named SSE
// events with ping, a first partial_json of "" and cumulative usage;
// Ollama's NDJSON with whole tool calls and a final done object; Gemini's
// CRLF-framed SSE without a terminator; each provider's error shape.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeAnthropic } from '../upstreams/fake-anthropic.mjs';
import { startFakeOllama } from '../upstreams/fake-ollama.mjs';
import { startFakeGemini } from '../upstreams/fake-gemini.mjs';

async function post(url, body, headers = {}) {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
  return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
}

describe('fake provider upstreams', { timeout: 30000 }, () => {
  let an, ol, ge;
  before(async () => {
    an = await startFakeAnthropic({ apiKey: 'k' });
    ol = await startFakeOllama({ thinks: false });
    ge = await startFakeGemini({ apiKey: 'g' });
  });
  after(async () => {
    await an?.close();
    await ol?.close();
    await ge?.close();
  });

  it('anthropic: named events, ping, "" first partial_json, cumulative usage, message_stop last', async () => {
    an.setScript({ type: 'tools', toolCalls: [{ name: 'f', arguments: { a: 1 } }], fragments: 3 });
    const h = { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' };
    const r = await post(`${an.url}/v1/messages`, { model: 'm', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'hi' }] }, h);
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/event-stream/);
    const events = r.text
      .split('\n\n')
      .filter(Boolean)
      .map((b) => {
        const [ev, data] = b.split('\n');
        assert.ok(ev.startsWith('event: ') && data.startsWith('data: '), `framing of ${b}`);
        const d = JSON.parse(data.slice(6));
        assert.equal(ev.slice(7), d.type, 'event name = data type');
        return d;
      });
    assert.equal(events[0].type, 'message_start');
    assert.ok(events.some((e) => e.type === 'ping'));
    const partial = events.filter((e) => e.delta?.type === 'input_json_delta').map((e) => e.delta.partial_json);
    assert.equal(partial[0], '');
    assert.deepEqual(JSON.parse(partial.join('')), { a: 1 });
    const md = events.find((e) => e.type === 'message_delta');
    assert.equal(md.delta.stop_reason, 'tool_use');
    assert.ok(md.usage.output_tokens > 1, 'the whole output count');
    assert.equal(events.at(-1).type, 'message_stop');
    // Errors in Anthropic's shape; auth and version checked.
    const bad = await post(`${an.url}/v1/messages`, { model: 'm', messages: [{ role: 'user', content: 'hi' }] }, h);
    assert.equal(bad.status, 400);
    assert.deepEqual(Object.keys(JSON.parse(bad.text)), ['type', 'error']);
    assert.equal((await post(`${an.url}/v1/messages`, {}, { 'anthropic-version': '2023-06-01' })).status, 401);
  });

  it('ollama: NDJSON lines, whole tool calls without ids, final done object; think:true to a non-thinker is a 400', async () => {
    ol.setScript({ type: 'tools', toolCalls: [{ name: 'f', arguments: { a: 1 } }] });
    const r = await post(`${ol.url}/api/chat`, { model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 200);
    assert.equal(r.type, 'application/x-ndjson', 'streams by default');
    assert.ok(r.text.endsWith('\n'));
    const lines = r.text.trim().split('\n').map((l) => JSON.parse(l));
    const calls = lines.flatMap((l) => l.message?.tool_calls ?? []);
    assert.deepEqual(calls, [{ function: { index: 0, name: 'f', arguments: { a: 1 } } }]);
    const last = lines.at(-1);
    assert.equal(last.done, true);
    assert.equal(last.done_reason, 'stop');
    for (const k of ['total_duration', 'prompt_eval_count', 'eval_count', 'eval_duration']) assert.equal(typeof last[k], 'number', k);
    ol.setScript(null);
    const t = await post(`${ol.url}/api/chat`, { model: 'm', think: true, stream: false, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(t.status, 400);
    assert.match(JSON.parse(t.text).error, /does not support thinking/);
  });

  it('gemini: CRLF frames, usageMetadata on every event, finishReason last, no terminator', async () => {
    ge.setScript({ type: 'text', content: 'a b c', chunks: 3 });
    const body = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };
    const r = await post(`${ge.url}/v1beta/models/m:streamGenerateContent?alt=sse`, body, { 'x-goog-api-key': 'g' });
    assert.equal(r.status, 200);
    assert.ok(r.text.endsWith('\r\n\r\n'));
    assert.ok(!r.text.includes('[DONE]'));
    const frames = r.text.split('\r\n\r\n').filter(Boolean);
    assert.equal(frames.length, 3);
    const objs = frames.map((f) => {
      assert.ok(f.startsWith('data: ') && !f.includes('\n'), 'one data line per frame');
      return JSON.parse(f.slice(6));
    });
    assert.ok(objs.every((o) => o.usageMetadata));
    assert.equal(objs.at(-1).candidates[0].finishReason, 'STOP');
    assert.equal(objs.map((o) => o.candidates[0].content.parts[0].text).join(''), 'a b c');
    const e = await post(`${ge.url}/v1beta/models/m:generateContent`, body, { 'x-goog-api-key': 'wrong' });
    assert.equal(e.status, 400);
    assert.deepEqual(Object.keys(JSON.parse(e.text).error).sort(), ['code', 'message', 'status']);
  });
});
