// Streaming through seam: chunks re-emitted as OpenAI SSE as they arrive,
// usage forwarded only when asked for, tool-call deltas, mid-stream upstream
// failures surfacing as an SSE error event (never a silently truncated
// stream), and a client disconnect cancelling the upstream transfer.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startStack,
  userMsg,
  rid,
  assertRouting,
  assertNoViolations,
  assertAlive,
  collectStream,
  rawPost,
  parseSSE,
  waitUntil,
  within,
  LOCAL_MODEL,
} from './helpers.mjs';

const CLOUD_TASK = { 'X-Seam-Kind': 'draft', 'X-Seam-Sensitivity': 'public', 'X-Seam-Complexity': 'high' };

describe('streaming through seam', { timeout: 180000 }, () => {
  let s;
  before(async () => {
    s = await startStack();
  });
  after(async () => {
    if (s) await s.stop();
  });

  /** Raw streaming POST; resolves {status, headers, events, text}. */
  async function rawStream(body, headers = {}) {
    const r = await rawPost(s.seam, JSON.stringify({ ...body, stream: true }), headers);
    return { ...r, events: parseSSE(r.text) };
  }

  it('streams content that concatenates to what the upstream sent, chunk by chunk, ending with [DONE]', async () => {
    const content = 'The quick brown fox jumps over the lazy dog, then naps. ünïcödé ✓ 日本語 🎉 end.';
    for (const [sens, headers, up] of [
      ['internal', {}, 'local'],
      ['public', CLOUD_TASK, 'cloud'],
    ]) {
      const id = rid();
      const fake = s[up];
      fake.setScript((req) => (req.rawBody.includes(id) ? { type: 'text', content, chunks: 12 } : null));
      try {
        const { data, response } = await s.client.chat.completions
          .create({ model: 'auto', stream: true, messages: [userMsg(sens, 'stream please', id)] }, { headers })
          .withResponse();
        assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
        assertRouting(response, { route: up === 'cloud' ? 'cloud' : 'local' });
        const got = await collectStream(data);
        assert.equal(got.content, content, `${up}: content intact`);
        assert.equal(got.finish, 'stop');
        const upReq = fake.find(id);
        assert.ok(upReq, `reached the ${up} upstream`);
        assert.equal(upReq.body.stream, true, 'upstream asked to stream');
        // Chunk shape: OpenAI chunks, one id throughout, first delta has the role.
        const withChoices = got.chunks.filter((c) => c.choices.length);
        assert.ok(withChoices.length >= 3, 'several chunks, not one buffered blob');
        const ids = new Set(got.chunks.map((c) => c.id));
        assert.equal(ids.size, 1, 'the same id on every chunk');
        for (const c of got.chunks) {
          assert.equal(c.object, 'chat.completion.chunk');
          assert.equal(typeof c.created, 'number');
          assert.equal(typeof c.model, 'string');
        }
        assert.equal(withChoices[0].choices[0].delta.role, 'assistant', 'first delta carries the role');
        assert.equal(withChoices.at(-1).choices[0].finish_reason, 'stop');
      } finally {
        fake.setScript(null);
      }
    }
  });

  it('raw SSE: text/event-stream, data: events, ends with data: [DONE]', async () => {
    const r = await rawStream({ model: 'auto', messages: [userMsg('internal', 'raw [reply:one two three] [chunks:3]')] });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.ok(r.events.length >= 3);
    assert.equal(r.events.at(-1).data, '[DONE]', 'last event is [DONE]');
    let content = '';
    for (const e of r.events.slice(0, -1)) {
      const obj = JSON.parse(e.data);
      assert.ok(!obj.error, 'no error event');
      for (const c of obj.choices) content += c.delta?.content ?? '';
    }
    assert.equal(content, 'one two three');
    assert.ok(r.text.endsWith('data: [DONE]\n\n'), 'terminated by data: [DONE]\\n\\n');
  });

  it('chunks are forwarded as they arrive (first content reaches the client before the upstream finishes)', async () => {
    const id = rid();
    s.local.setScript((req) => (req.rawBody.includes(id) ? { type: 'text', content: 'a b c d e f g h', chunks: 8, delayMs: 250 } : null));
    try {
      const stream = await s.client.chat.completions.create({ model: 'auto', stream: true, messages: [userMsg('internal', 'slow', id)] });
      let sawContentWhileUpstreamBusy = null;
      let content = '';
      for await (const ch of stream) {
        const d = ch.choices[0]?.delta?.content;
        if (d) {
          content += d;
          if (sawContentWhileUpstreamBusy === null) {
            const up = s.local.find(id);
            sawContentWhileUpstreamBusy = !!up && !up.completed && up.chunksSent < 8;
          }
        }
      }
      assert.equal(content, 'a b c d e f g h');
      assert.equal(sawContentWhileUpstreamBusy, true, 'the first delta arrived while the upstream was still streaming (no buffering)');
    } finally {
      s.local.setScript(null);
    }
  });

  it('asks the upstream for usage, forwards the usage chunk only when the client asked', async () => {
    // Client did not ask.
    const id1 = rid();
    const r1 = await rawStream({ model: 'auto', messages: [userMsg('internal', 'no usage [reply:x y z]', id1)] });
    const up1 = s.local.find(id1);
    assert.equal(up1.body.stream_options?.include_usage, true, 'seam asks upstream for usage');
    const chunks1 = r1.events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data));
    assert.equal(chunks1.filter((c) => c.choices.length === 0).length, 0, 'no choices:[] usage chunk sent to a client that did not ask');
    assert.ok(chunks1.every((c) => !c.usage), 'no usage values in chunks when not asked');
    assert.equal(r1.events.at(-1).data, '[DONE]');

    // Client asked (SDK).
    const id2 = rid();
    const stream = await s.client.chat.completions.create({
      model: 'auto',
      stream: true,
      stream_options: { include_usage: true },
      messages: [userMsg('internal', 'with usage [reply:x y z]', id2)],
    });
    const got = await collectStream(stream);
    const up2 = s.local.find(id2);
    assert.equal(up2.body.stream_options?.include_usage, true);
    const usageChunks = got.chunks.filter((c) => c.choices.length === 0 && c.usage);
    assert.equal(usageChunks.length, 1, 'exactly one usage chunk with choices: []');
    assert.equal(got.chunks.at(-1), usageChunks[0], 'the usage chunk is the last one');
    assert.equal(usageChunks[0].usage.prompt_tokens, up2.usage.prompt_tokens);
    assert.equal(usageChunks[0].usage.completion_tokens, up2.usage.completion_tokens);
    assert.equal(usageChunks[0].usage.total_tokens, up2.usage.total_tokens);
  });

  it('tool-call deltas survive streaming (arguments assembled per index)', async () => {
    const calls = [
      { id: 'call_one111', name: 'get_weather', arguments: { city: 'Zürich', days: 3, opts: { units: 'metric', tags: ['a', 'b'] } } },
      { id: 'call_two222', name: 'lookup', arguments: '{"q":"a \\"quoted\\" string with } and {"}' },
    ];
    const tools = [
      { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
      { type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } } },
    ];
    for (const [sens, headers, up] of [
      ['internal', {}, 'local'],
      ['public', CLOUD_TASK, 'cloud'],
    ]) {
      const id = rid();
      s[up].setScript((req) => (req.rawBody.includes(id) ? { type: 'tools', toolCalls: calls, fragments: 5 } : null));
      try {
        const stream = await s.client.chat.completions.create(
          { model: 'auto', stream: true, tools, messages: [userMsg(sens, 'use tools', id)] },
          { headers },
        );
        const got = await collectStream(stream);
        assert.equal(got.finish, 'tool_calls');
        assert.equal(got.toolCalls.length, 2);
        for (let i = 0; i < calls.length; i++) {
          const want = calls[i];
          assert.equal(got.toolCalls[i].id, want.id);
          assert.equal(got.toolCalls[i].name, want.name);
          const wantArgs = typeof want.arguments === 'string' ? want.arguments : JSON.stringify(want.arguments);
          assert.deepEqual(JSON.parse(got.toolCalls[i].arguments), JSON.parse(wantArgs), `call ${i} arguments`);
        }
        assert.deepEqual(s[up].find(id).body.tools, tools, 'tools forwarded intact');

        // And the same reply non-stream.
        const id2 = rid();
        s[up].setScript((req) => (req.rawBody.includes(id2) ? { type: 'tools', toolCalls: calls } : null));
        const r = await s.client.chat.completions.create({ model: 'auto', tools, messages: [userMsg(sens, 'use tools', id2)] }, { headers });
        assert.equal(r.choices[0].finish_reason, 'tool_calls');
        const tc = r.choices[0].message.tool_calls;
        assert.equal(tc.length, 2);
        assert.equal(tc[0].id, 'call_one111');
        assert.equal(tc[0].function.name, 'get_weather');
        assert.deepEqual(JSON.parse(tc[0].function.arguments), calls[0].arguments);
        assert.deepEqual(JSON.parse(tc[1].function.arguments), JSON.parse(calls[1].arguments));
      } finally {
        s[up].setScript(null);
      }
    }
  });

  for (const [label, action] of [
    ['connection reset after 3 chunks', { type: 'reset', afterChunks: 3 }],
    ['an upstream SSE error event after 3 chunks', { type: 'stream-error', afterChunks: 3, message: 'upstream overloaded' }],
    ['a malformed SSE line after 3 chunks', { type: 'garbage', mode: 'sse', afterChunks: 3 }],
  ]) {
    it(`mid-stream failure (${label}) → SSE error event then [DONE]; the SDK throws`, async () => {
      const content = 'w1 w2 w3 w4 w5 w6 w7 w8';
      // SDK view.
      const id = rid();
      s.local.setScript((req) => (req.rawBody.includes(id) ? { ...action, content, chunks: 8 } : null));
      try {
        const stream = await s.client.chat.completions.create({ model: 'auto', stream: true, messages: [userMsg('internal', 'fail midway', id)] });
        let got = '';
        await assert.rejects(
          within(
            (async () => {
              for await (const ch of stream) got += ch.choices[0]?.delta?.content ?? '';
            })(),
            10000,
            'stream iteration',
          ),
          (e) => {
            assert.ok(e && e.constructor && e.constructor.name === 'APIError', `expected the SDK to throw APIError, got ${e && e.constructor && e.constructor.name}: ${e && e.message}`);
            return true;
          },
        );
        assert.equal(got, 'w1 w2 w3 ', 'the tokens sent before the failure were delivered');

        // Raw view: error object event, then [DONE], nothing after.
        const id2 = rid();
        s.local.setScript((req) => (req.rawBody.includes(id2) ? { ...action, content, chunks: 8 } : null));
        const r = await rawStream({ model: 'auto', messages: [userMsg('internal', 'fail midway', id2)] });
        assert.equal(r.status, 200, 'headers were already sent as 200');
        assert.ok(r.events.length >= 2, `events: ${r.text}`);
        assert.equal(r.events.at(-1).data, '[DONE]', `stream ends with [DONE]; got:\n${r.text}`);
        const errEvent = JSON.parse(r.events.at(-2).data);
        assert.ok(errEvent.error, `the event before [DONE] is an error object; got:\n${r.text}`);
        assert.equal(typeof errEvent.error.message, 'string');
        assert.ok('type' in errEvent.error && 'param' in errEvent.error && 'code' in errEvent.error, 'OpenAI error shape');
        for (const e of r.events.slice(0, -2)) {
          const c = JSON.parse(e.data);
          assert.ok(!c.error, 'only one error event');
          for (const ch of c.choices ?? []) assert.ok(!ch.finish_reason || ch.finish_reason === 'error', `no normal finish chunk before the error (got ${ch.finish_reason})`);
        }
      } finally {
        s.local.setScript(null);
      }
      await assertAlive(s);
    });
  }

  it('a client that disconnects mid-stream cancels the upstream transfer', async () => {
    for (const [sens, headers, up] of [
      ['internal', {}, 'local'],
      ['public', CLOUD_TASK, 'cloud'],
    ]) {
      const id = rid();
      const fake = s[up];
      fake.setScript((req) => (req.rawBody.includes(id) ? { type: 'text', content: 'tok '.repeat(40), chunks: 40, delayMs: 200 } : null));
      try {
        const ac = new AbortController();
        const stream = await s.client.chat.completions.create(
          { model: 'auto', stream: true, messages: [userMsg(sens, 'then hang up', id)] },
          { headers, signal: ac.signal },
        );
        let n = 0;
        for await (const ch of stream) {
          if (ch.choices[0]?.delta?.content) {
            n++;
            ac.abort();
            break;
          }
        }
        assert.equal(n, 1, 'received a content chunk before aborting');
        const abortedAt = Date.now();
        const rec = fake.find(id);
        assert.ok(rec, `reached the ${up} upstream`);
        await waitUntil(() => rec.cancelSeen, { timeoutMs: 3000, what: `${up} upstream to see the connection closed` });
        assert.ok(rec.chunksSent < 40, 'the upstream had not finished');
        assert.ok(rec.cancelSeenAt - abortedAt < 3000);
      } finally {
        fake.setScript(null);
        fake.abortPending();
      }
    }
    await assertAlive(s);
  });

  it('a client that disconnects while waiting for a non-stream answer cancels the upstream transfer', async () => {
    const id = rid();
    s.local.setScript((req) => (req.rawBody.includes(id) ? { type: 'hang' } : null));
    try {
      const ac = new AbortController();
      const p = s.client.chat.completions.create({ model: 'auto', messages: [userMsg('internal', 'wait', id)] }, { signal: ac.signal });
      const rec = await s.local.waitFor((r) => r.rawBody.includes(id), 5000);
      ac.abort();
      await assert.rejects(p);
      await waitUntil(() => rec.cancelSeen, { timeoutMs: 3000, what: 'local upstream to see the connection closed' });
    } finally {
      s.local.setScript(null);
      s.local.abortPending(); // if seam did not cancel, do not leave it waiting
    }
    await assertAlive(s);
  });

  it('the model sent upstream for auto is the backend\'s first model in streams too', async () => {
    const id = rid();
    const stream = await s.client.chat.completions.create({ model: 'auto', stream: true, messages: [userMsg('internal', 'm', id)] });
    await collectStream(stream);
    assert.equal(s.local.find(id).body.model, LOCAL_MODEL);
  });

  it('invariant: no internal or regulated request reached the cloud upstream', () => {
    assertNoViolations(s.cloud);
  });

  it('seam exits 0 on SIGTERM', async () => {
    const code = await s.seam.stop();
    assert.equal(code, 0, `exit code; stderr tail:\n${s.seam.stderr().slice(-2000)}`);
  });
});
