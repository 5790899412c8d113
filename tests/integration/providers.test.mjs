// Egress providers: the official `openai` client -> seam -> fake Anthropic,
// Ollama (native /api/chat) and Gemini upstreams. Every cell checks what the
// SDK parsed (content, tool names and reassembled arguments, reasoning,
// finish reason, usage numbers) and what the fake received (the exact
// translated body, path and headers): system hoisting, max_tokens, tool
// results grouping, images, the think flag, thinkingConfig. Failures:
// upstream HTTP errors in each provider's shape, mid-stream errors, resets,
// garbage, hangs.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startSeam, rid, collectStream, rawPost, parseSSE, assertOpenAIError, waitUntil, within } from './helpers.mjs';
import { startFakeAnthropic } from '../upstreams/fake-anthropic.mjs';
import { startFakeOllama } from '../upstreams/fake-ollama.mjs';
import { startFakeGemini } from '../upstreams/fake-gemini.mjs';

const ANTHROPIC_MODEL = 'claude-sonnet-4-5';
const OLLAMA_MODEL = 'gemma4:31b';
const GEMINI_MODEL = 'gemini-2.5-flash';
const ANTHROPIC_KEY = 'sk-ant-test-' + crypto.randomBytes(6).toString('hex');
const GEMINI_KEY = 'AIza-test-' + crypto.randomBytes(6).toString('hex');
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

function config(urls) {
  return `# seam provider integration test config (generated)
listen: 127.0.0.1:0
workers: 2
limits: { max_body_bytes: 33554432, request_timeout_ms: 3000 }
backends:
  - name: claude
    provider: anthropic
    url: ${urls.anthropic}
    location: cloud
    clearance: regulated
    models: [${ANTHROPIC_MODEL}]
    api_key_env: SEAM_TEST_ANTHROPIC_KEY
    max_tokens_default: 2048
  - name: gemma
    provider: ollama
    url: ${urls.ollama}
    location: local
    models: [${OLLAMA_MODEL}]
  - name: gemini
    provider: gemini
    url: ${urls.gemini}
    location: cloud
    clearance: regulated
    models: [${GEMINI_MODEL}]
    api_key_env: SEAM_TEST_GEMINI_KEY
pools:
  local: { backends: [gemma], retries: 0 }
  cloud: { backends: [claude, gemini], retries: 0 }
# One attempt per request and a breaker that never opens: this suite checks
# what one attempt answers (chaos.test.mjs covers retries and breakers).
circuit: { failures: 1000, window_ms: 1000 }
policy:
  default: local
`;
}

// Per provider: the model that pins it, its backend name, its fake, the
// POSTs it received, and how its usage maps to OpenAI's.
const PROVIDERS = {
  anthropic: {
    model: ANTHROPIC_MODEL,
    backend: 'claude',
    usage: { input_tokens: 11, cache_creation_input_tokens: 5, cache_read_input_tokens: 7, output_tokens: 13 },
    expectUsage: { prompt_tokens: 23, completion_tokens: 13, cached: 7 },
  },
  ollama: {
    model: OLLAMA_MODEL,
    backend: 'gemma',
    usage: { prompt_eval_count: 21, eval_count: 9 },
    expectUsage: { prompt_tokens: 21, completion_tokens: 9 },
  },
  gemini: {
    model: GEMINI_MODEL,
    backend: 'gemini',
    usage: { promptTokenCount: 17, candidatesTokenCount: 6, thoughtsTokenCount: 4 },
    expectUsage: { prompt_tokens: 17, completion_tokens: 10, reasoning: 4 },
  },
};

const TRICKY_ARGS = { city: 'Zürich', days: [1, 2, 3], opts: { unit: 'C', note: 'a "quoted" }{ brace, 日本語 🎉' } };

describe('egress providers: anthropic, ollama, gemini', { timeout: 240000 }, () => {
  let seam, client;
  const fakes = {};
  before(async () => {
    fakes.anthropic = await startFakeAnthropic({ name: 'claude', model: ANTHROPIC_MODEL, apiKey: ANTHROPIC_KEY });
    fakes.ollama = await startFakeOllama({ name: 'gemma', model: OLLAMA_MODEL, thinks: true });
    fakes.gemini = await startFakeGemini({ name: 'gemini', model: GEMINI_MODEL, apiKey: GEMINI_KEY });
    seam = await startSeam(config({ anthropic: fakes.anthropic.url, ollama: fakes.ollama.url, gemini: fakes.gemini.url }), {
      env: { SEAM_TEST_ANTHROPIC_KEY: ANTHROPIC_KEY, SEAM_TEST_GEMINI_KEY: GEMINI_KEY },
    });
    client = seam.client();
  });
  after(async () => {
    if (seam) {
      const code = await seam.stop();
      assert.equal(code, 0, 'seam exits 0');
    }
    for (const f of Object.values(fakes)) await f.close();
  });

  /** Scripts <action> for requests carrying <id> on provider <p>'s fake. */
  function script(p, id, action) {
    fakes[p].setScript((req) => (req.rawBody.includes(id) ? action : null));
  }

  /** The POST that carried <id> to <p>'s fake. */
  function received(p, id) {
    const r = fakes[p].requests.find((x) => x.method === 'POST' && x.rawBody.includes(id));
    assert.ok(r, `${p}: the request reached the fake`);
    return r;
  }

  for (const [p, P] of Object.entries(PROVIDERS)) {
    describe(`${p}`, () => {
      it('text, non-stream: content, finish, usage arithmetic, routing header', async () => {
        const id = rid();
        const content = 'Hello, ünïcödé 🎉 world.';
        script(p, id, { type: 'text', content, usage: P.usage });
        const { data: r, response } = await client.chat.completions.create({ model: P.model, messages: [{ role: 'user', content: `[${id}] hi` }] }).withResponse();
        assert.equal(response.headers.get('x-seam-backend'), P.backend);
        assert.equal(r.object, 'chat.completion');
        assert.equal(r.choices[0].message.content, content);
        assert.equal(r.choices[0].finish_reason, 'stop');
        assert.equal(r.usage.prompt_tokens, P.expectUsage.prompt_tokens, 'prompt tokens');
        assert.equal(r.usage.completion_tokens, P.expectUsage.completion_tokens, 'completion tokens');
        assert.equal(r.usage.total_tokens, P.expectUsage.prompt_tokens + P.expectUsage.completion_tokens);
        if (P.expectUsage.cached !== undefined) assert.equal(r.usage.prompt_tokens_details?.cached_tokens, P.expectUsage.cached);
        if (P.expectUsage.reasoning !== undefined) assert.equal(r.usage.completion_tokens_details?.reasoning_tokens, P.expectUsage.reasoning);
        const up = received(p, id);
        if (p === 'gemini') assert.equal(up.path, `/v1beta/models/${GEMINI_MODEL}:generateContent`);
        else assert.equal(up.body.stream === true, false, 'not streamed upstream');
        if (p === 'ollama') assert.equal(up.body.stream, false, 'stream:false is explicit for Ollama');
      });

      it('text, stream with include_usage: chunks concatenate, usage in the final chunk', async () => {
        const id = rid();
        const content = 'one two three four five six seven eight nine ten';
        script(p, id, { type: 'text', content, chunks: 6, usage: P.usage });
        const stream = await client.chat.completions.create({
          model: P.model,
          stream: true,
          stream_options: { include_usage: true },
          messages: [{ role: 'user', content: `[${id}] count` }],
        });
        const got = await collectStream(stream);
        assert.equal(got.content, content);
        assert.equal(got.finish, 'stop');
        assert.ok(got.chunks.filter((c) => c.choices.length).length >= 6, 'relayed chunk by chunk');
        const last = got.chunks.at(-1);
        assert.deepEqual(last.choices, [], 'the usage chunk has no choices');
        assert.equal(last.usage.prompt_tokens, P.expectUsage.prompt_tokens);
        assert.equal(last.usage.completion_tokens, P.expectUsage.completion_tokens);
        const up = received(p, id);
        if (p === 'gemini') {
          assert.equal(up.path, `/v1beta/models/${GEMINI_MODEL}:streamGenerateContent`);
          assert.equal(up.query.get('alt'), 'sse');
        } else assert.equal(up.body.stream, true);
      });

      it('a tool call, non-stream: name and arguments intact, finish tool_calls', async () => {
        const id = rid();
        script(p, id, { type: 'tools', toolCalls: [{ name: 'get_weather', arguments: TRICKY_ARGS }] });
        const r = await client.chat.completions.create({
          model: P.model,
          messages: [{ role: 'user', content: `[${id}] weather?` }],
          tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
        });
        const calls = r.choices[0].message.tool_calls;
        assert.equal(calls.length, 1);
        assert.equal(calls[0].type, 'function');
        assert.equal(calls[0].function.name, 'get_weather');
        assert.deepEqual(JSON.parse(calls[0].function.arguments), TRICKY_ARGS);
        assert.ok(typeof calls[0].id === 'string' && calls[0].id.length > 0, 'the call has an id');
        if (p !== 'anthropic') assert.equal(calls[0].id, 'call_0', 'synthesised id');
        assert.equal(r.choices[0].finish_reason, 'tool_calls');
      });

      it('two parallel tool calls, streamed: arguments reassembled intact', async () => {
        const id = rid();
        const second = { tz: 'Europe/Oslo', fmt: '24h' };
        script(p, id, {
          type: 'tools',
          fragments: 5,
          toolCalls: [
            { name: 'get_weather', arguments: TRICKY_ARGS },
            { name: 'get_time', arguments: second },
          ],
        });
        const stream = await client.chat.completions.create({
          model: P.model,
          stream: true,
          messages: [{ role: 'user', content: `[${id}] weather and time?` }],
          tools: [
            { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } },
            { type: 'function', function: { name: 'get_time', parameters: { type: 'object' } } },
          ],
        });
        const got = await collectStream(stream);
        assert.equal(got.toolCalls.length, 2);
        assert.equal(got.toolCalls[0].name, 'get_weather');
        assert.deepEqual(JSON.parse(got.toolCalls[0].arguments), TRICKY_ARGS);
        assert.equal(got.toolCalls[1].name, 'get_time');
        assert.deepEqual(JSON.parse(got.toolCalls[1].arguments), second);
        assert.notEqual(got.toolCalls[0].id, got.toolCalls[1].id, 'distinct ids');
        assert.equal(got.finish, 'tool_calls');
      });

      it('upstream 500 → 502, 429 → 429, 400 → 400, in OpenAI shape with the provider message', async () => {
        for (const [status, want] of [
          [500, 502],
          [429, 429],
          [400, 400],
        ]) {
          const id = rid();
          script(p, id, { type: 'error', status, message: `fake says ${status}` });
          const r = await rawPost(seam, JSON.stringify({ model: P.model, messages: [{ role: 'user', content: `[${id}] fail` }] }));
          assert.equal(r.status, want, `upstream ${status}`);
          assertOpenAIError(r.json, { messageIncludes: `fake says ${status}` });
          await assert.rejects(
            client.chat.completions.create({ model: P.model, messages: [{ role: 'user', content: `[${id}] fail again` }] }),
            (e) => e.status === want,
          );
        }
      });

      it('a mid-stream upstream error → SSE error event then [DONE]; the SDK throws', async () => {
        const id = rid();
        script(p, id, { type: 'stream-error', content: 'w1 w2 w3 w4 w5 w6', chunks: 6, afterChunks: 2, message: 'upstream overloaded' });
        const stream = await client.chat.completions.create({ model: P.model, stream: true, messages: [{ role: 'user', content: `[${id}] go` }] });
        let got = '';
        await assert.rejects(
          within(
            (async () => {
              for await (const ch of stream) got += ch.choices[0]?.delta?.content ?? '';
            })(),
            10000,
            'stream iteration',
          ),
          (e) => e?.constructor?.name === 'APIError',
        );
        assert.equal(got, 'w1 w2 ', 'what came before the error was delivered');
        const id2 = rid();
        script(p, id2, { type: 'stream-error', content: 'w1 w2 w3', chunks: 3, afterChunks: 1, message: 'upstream overloaded' });
        const r = await rawPost(seam, JSON.stringify({ model: P.model, stream: true, messages: [{ role: 'user', content: `[${id2}] go` }] }));
        assert.equal(r.status, 200);
        const events = parseSSE(r.text);
        assert.equal(events.at(-1).data, '[DONE]');
        const err = JSON.parse(events.at(-2).data);
        assert.match(err.error.message, /overloaded/i);
      });

      it('a connection reset mid-stream → SSE error event, never a silent cut', async () => {
        const id = rid();
        script(p, id, { type: 'reset', content: 'a b c d', chunks: 4, afterChunks: 2 });
        const r = await rawPost(seam, JSON.stringify({ model: P.model, stream: true, messages: [{ role: 'user', content: `[${id}] go` }] }));
        assert.equal(r.status, 200);
        const events = parseSSE(r.text);
        assert.equal(events.at(-1).data, '[DONE]');
        assert.ok(JSON.parse(events.at(-2).data).error, 'an error event before [DONE]');
      });

      it('a body that is not the provider format → 502', async () => {
        const id = rid();
        script(p, id, { type: 'garbage' });
        const r = await rawPost(seam, JSON.stringify({ model: P.model, messages: [{ role: 'user', content: `[${id}] go` }] }));
        assert.equal(r.status, 502);
        assertOpenAIError(r.json);
      });
    });
  }

  describe('anthropic translation', () => {
    it('the exact body: system hoisted, default max_tokens + thinking budget, image, tool results grouped first', async () => {
      const id = rid();
      script('anthropic', id, { type: 'text', content: 'It is cold.', thinking: 'The tool said -3C.' });
      const r = await client.chat.completions.create({
        model: ANTHROPIC_MODEL,
        reasoning_effort: 'low',
        stop: ['END'],
        parallel_tool_calls: false,
        tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'developer', content: 'use metric' },
          {
            role: 'user',
            content: [
              { type: 'text', text: `[${id}] where is this, and the weather?` },
              { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
            ],
          },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
              { id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Bergen"}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_a', content: '-3C' },
          { role: 'tool', tool_call_id: 'call_b', content: '2C' },
          { role: 'user', content: 'so?' },
        ],
      });
      assert.equal(r.choices[0].message.content, 'It is cold.');
      assert.equal(r.choices[0].message.reasoning_content, 'The tool said -3C.', 'thinking as reasoning_content');
      const up = received('anthropic', id);
      assert.equal(up.path, '/v1/messages');
      assert.equal(up.headers['x-api-key'], ANTHROPIC_KEY);
      assert.equal(up.headers['anthropic-version'], '2023-06-01');
      assert.equal(up.headers.authorization, undefined);
      assert.deepEqual(up.body, {
        model: ANTHROPIC_MODEL,
        max_tokens: 2048,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        system: [
          { type: 'text', text: 'be brief' },
          { type: 'text', text: 'use metric' },
        ],
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: `[${id}] where is this, and the weather?` },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            ],
          },
          {
            role: 'assistant',
            content: [
              { type: 'tool_use', id: 'call_a', name: 'get_weather', input: { city: 'Oslo' } },
              { type: 'tool_use', id: 'call_b', name: 'get_weather', input: { city: 'Bergen' } },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'call_a', content: '-3C' },
              { type: 'tool_result', tool_use_id: 'call_b', content: '2C' },
              { type: 'text', text: 'so?' },
            ],
          },
        ],
        tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
        tool_choice: { type: 'auto', disable_parallel_tool_use: true },
        stop_sequences: ['END'],
      });
    });

    it("the client's max_completion_tokens wins; thinking streams as reasoning_content before the text", async () => {
      const id = rid();
      script('anthropic', id, { type: 'text', content: 'Done thinking.', thinking: 'Step one, step two.' });
      const stream = await client.chat.completions.create({
        model: ANTHROPIC_MODEL,
        stream: true,
        max_completion_tokens: 3000,
        reasoning_effort: 'high',
        messages: [{ role: 'user', content: `[${id}] think` }],
      });
      let reasoning = '';
      let content = '';
      let order = '';
      for await (const ch of stream) {
        const d = ch.choices[0]?.delta ?? {};
        if (d.reasoning_content) {
          reasoning += d.reasoning_content;
          if (!order.endsWith('r')) order += 'r';
        }
        if (d.content) {
          content += d.content;
          if (!order.endsWith('c')) order += 'c';
        }
      }
      assert.equal(reasoning, 'Step one, step two.');
      assert.equal(content, 'Done thinking.');
      assert.equal(order, 'rc');
      const up = received('anthropic', id);
      assert.equal(up.body.max_tokens, 3000);
      assert.deepEqual(up.body.thinking, { type: 'enabled', budget_tokens: 2999 });
    });

    it('untranslatable requests are a 400 before anything is sent', async () => {
      const before = fakes.anthropic.posts().length;
      const r = await rawPost(
        seam,
        JSON.stringify({
          model: ANTHROPIC_MODEL,
          messages: [
            { role: 'user', content: 'x' },
            { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{oops' } }] },
            { role: 'tool', tool_call_id: 'c1', content: 'r' },
          ],
        }),
      );
      assert.equal(r.status, 400);
      assertOpenAIError(r.json, { messageIncludes: 'not a JSON object' });
      const r2 = await rawPost(seam, JSON.stringify({ model: ANTHROPIC_MODEL, max_tokens: 500, reasoning_effort: 'low', messages: [{ role: 'user', content: 'x' }] }));
      assert.equal(r2.status, 400);
      assertOpenAIError(r2.json, { messageIncludes: 'max_tokens above 1024' });
      assert.equal(fakes.anthropic.posts().length, before, 'nothing was sent upstream');
    });

    it('health probes send x-api-key and anthropic-version', async () => {
      const probe = await fakes.anthropic.waitFor((r) => r.method === 'GET' && r.path === '/v1/models', 5000);
      assert.equal(probe.headers['x-api-key'], ANTHROPIC_KEY);
      assert.equal(probe.headers['anthropic-version'], '2023-06-01');
      assert.equal(probe.status, 200);
    });
  });

  describe('ollama translation', () => {
    it("the exact body: native /api/chat, think:false by default, raw base64 images, tool_name, options", async () => {
      const id = rid();
      script('ollama', id, { type: 'text', content: 'A cat.', thinking: 'Ollama would think by default.' });
      const r = await client.chat.completions.create({
        model: OLLAMA_MODEL,
        max_tokens: 200,
        temperature: 0.5,
        seed: 42,
        stop: 'END',
        messages: [
          { role: 'system', content: 'be brief' },
          {
            role: 'user',
            content: [
              { type: 'text', text: `[${id}] what is this?` },
              { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
            ],
          },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'lookup', arguments: '{"q":"cat"}' } }] },
          { role: 'tool', tool_call_id: 'call_0', content: 'a small feline' },
        ],
      });
      assert.equal(r.choices[0].message.content, 'A cat.');
      assert.equal(r.choices[0].message.reasoning_content, undefined, 'no thinking: seam sent think:false');
      const up = received('ollama', id);
      assert.equal(up.path, '/api/chat');
      assert.deepEqual(up.body, {
        model: OLLAMA_MODEL,
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: `[${id}] what is this?`, images: [PNG] },
          { role: 'assistant', content: '', tool_calls: [{ id: 'call_0', function: { index: 0, name: 'lookup', arguments: { q: 'cat' } } }] },
          { role: 'tool', content: 'a small feline', tool_name: 'lookup', tool_call_id: 'call_0' },
        ],
        options: { num_predict: 200, temperature: 0.5, seed: 42, stop: ['END'] },
        think: false,
        stream: false,
      });
    });

    it('reasoning_effort high → think "high"; thinking streams first as reasoning_content', async () => {
      const id = rid();
      script('ollama', id, { type: 'text', content: 'Forty-two.', thinking: 'Let me think about it.' });
      const stream = await client.chat.completions.create({
        model: OLLAMA_MODEL,
        stream: true,
        reasoning_effort: 'high',
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: `[${id}] meaning?` }],
      });
      let reasoning = '';
      let content = '';
      let usage = null;
      for await (const ch of stream) {
        const d = ch.choices[0]?.delta ?? {};
        if (d.reasoning_content) {
          assert.equal(content, '', 'thinking comes before content');
          reasoning += d.reasoning_content;
        }
        if (d.content) content += d.content;
        if (ch.usage) usage = ch.usage;
      }
      assert.equal(reasoning, 'Let me think about it.');
      assert.equal(content, 'Forty-two.');
      const up = received('ollama', id);
      assert.equal(up.body.think, 'high');
      assert.equal(up.body.stream, true);
      assert.equal(up.headers['content-type'], 'application/json');
      assert.equal(usage.prompt_tokens, up.reply.final.prompt_eval_count);
      assert.equal(usage.completion_tokens, up.reply.final.eval_count);
    });

    it('reasoning_effort none → think:false; a remote image URL is a 400 and nothing is sent', async () => {
      const id = rid();
      script('ollama', id, { type: 'text', content: 'ok' });
      await client.chat.completions.create({ model: OLLAMA_MODEL, reasoning_effort: 'none', messages: [{ role: 'user', content: `[${id}] hi` }] });
      assert.equal(received('ollama', id).body.think, false);
      const id2 = rid();
      const r = await rawPost(
        seam,
        JSON.stringify({
          model: OLLAMA_MODEL,
          messages: [{ role: 'user', content: [{ type: 'text', text: `[${id2}] look` }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }],
        }),
      );
      assert.equal(r.status, 400);
      assertOpenAIError(r.json, { messageIncludes: 'remote image URLs are not fetched' });
      assert.equal(fakes.ollama.find(id2), undefined, 'nothing reached Ollama');
    });

    it('a hung upstream → 504 within the request timeout', async () => {
      const id = rid();
      script('ollama', id, { type: 'hang' });
      const t0 = Date.now();
      const r = await rawPost(seam, JSON.stringify({ model: OLLAMA_MODEL, messages: [{ role: 'user', content: `[${id}] hang` }] }));
      assert.equal(r.status, 504);
      assertOpenAIError(r.json, { code: 'upstream_timeout' });
      assert.ok(Date.now() - t0 < 6000, 'answered near the 3 s timeout');
      fakes.ollama.abortPending();
    });

    it('health probes use GET /api/tags', async () => {
      const probe = await fakes.ollama.waitFor((r) => r.method === 'GET' && r.path === '/api/tags', 5000);
      assert.equal(probe.status, 200);
      assert.equal(probe.headers.authorization, undefined);
    });
  });

  describe('gemini translation', () => {
    it('the exact body: systemInstruction, user/model turns, functionResponse objects, inlineData, generationConfig', async () => {
      const id = rid();
      script('gemini', id, { type: 'text', content: 'Cold in Oslo.', thinking: 'Tool says -3.' });
      const r = await client.chat.completions.create({
        model: GEMINI_MODEL,
        max_completion_tokens: 400,
        top_p: 0.5,
        reasoning_effort: 'medium',
        tool_choice: 'required',
        tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
        messages: [
          { role: 'developer', content: 'be brief' },
          {
            role: 'user',
            content: [
              { type: 'text', text: `[${id}] weather?` },
              { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
            ],
          },
          {
            role: 'assistant',
            content: 'Looking.',
            tool_calls: [
              { id: 'call_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
              { id: 'call_1', type: 'function', function: { name: 'get_time', arguments: '{}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_0', content: '{"temp":-3}' },
          { role: 'tool', tool_call_id: 'call_1', content: 'noon' },
        ],
      });
      assert.equal(r.choices[0].message.content, 'Cold in Oslo.');
      assert.equal(r.choices[0].message.reasoning_content, 'Tool says -3.');
      const up = received('gemini', id);
      assert.equal(up.path, `/v1beta/models/${GEMINI_MODEL}:generateContent`);
      assert.equal(up.headers['x-goog-api-key'], GEMINI_KEY);
      assert.equal(up.headers.authorization, undefined);
      assert.deepEqual(up.body, {
        contents: [
          { role: 'user', parts: [{ text: `[${id}] weather?` }, { inlineData: { mimeType: 'image/png', data: PNG } }] },
          {
            role: 'model',
            parts: [{ text: 'Looking.' }, { functionCall: { name: 'get_weather', args: { city: 'Oslo' } } }, { functionCall: { name: 'get_time', args: {} } }],
          },
          {
            role: 'user',
            parts: [{ functionResponse: { name: 'get_weather', response: { temp: -3 } } }, { functionResponse: { name: 'get_time', response: { output: 'noon' } } }],
          },
        ],
        systemInstruction: { parts: [{ text: 'be brief' }] },
        tools: [{ functionDeclarations: [{ name: 'get_weather', parametersJsonSchema: { type: 'object', properties: { city: { type: 'string' } } } }] }],
        toolConfig: { functionCallingConfig: { mode: 'ANY' } },
        generationConfig: { maxOutputTokens: 400, topP: 0.5, thinkingConfig: { includeThoughts: true, thinkingBudget: 8192 } },
      });
    });

    it('streamed thoughts → reasoning_content; finish reasons MAX_TOKENS → length, SAFETY → content_filter', async () => {
      const id = rid();
      script('gemini', id, { type: 'text', content: 'The answer is four.', thinking: 'Two plus two.', chunks: 4 });
      const stream = await client.chat.completions.create({ model: GEMINI_MODEL, stream: true, reasoning_effort: 'low', messages: [{ role: 'user', content: `[${id}] 2+2?` }] });
      let reasoning = '';
      let content = '';
      for await (const ch of stream) {
        reasoning += ch.choices[0]?.delta?.reasoning_content ?? '';
        content += ch.choices[0]?.delta?.content ?? '';
      }
      assert.equal(reasoning, 'Two plus two.');
      assert.equal(content, 'The answer is four.');
      for (const [reason, want] of [
        ['MAX_TOKENS', 'length'],
        ['SAFETY', 'content_filter'],
      ]) {
        for (const streamed of [false, true]) {
          const id2 = rid();
          script('gemini', id2, { type: 'text', content: 'cut', finishReason: reason });
          if (streamed) {
            const got = await collectStream(await client.chat.completions.create({ model: GEMINI_MODEL, stream: true, messages: [{ role: 'user', content: `[${id2}] x` }] }));
            assert.equal(got.finish, want, `${reason} streamed`);
          } else {
            const r = await client.chat.completions.create({ model: GEMINI_MODEL, messages: [{ role: 'user', content: `[${id2}] x` }] });
            assert.equal(r.choices[0].finish_reason, want, reason);
          }
        }
      }
    });

    it('a tool result without a matching call is a 400 (Gemini needs the function name)', async () => {
      const r = await rawPost(
        seam,
        JSON.stringify({
          model: GEMINI_MODEL,
          messages: [
            { role: 'user', content: 'x' },
            { role: 'tool', tool_call_id: 'call_404', content: 'r' },
          ],
        }),
      );
      assert.equal(r.status, 400);
      assertOpenAIError(r.json, { messageIncludes: 'answers no earlier tool call' });
    });

    it('health probes send x-goog-api-key to GET /v1beta/models', async () => {
      const probe = await fakes.gemini.waitFor((r) => r.method === 'GET' && r.path === '/v1beta/models', 5000);
      assert.equal(probe.headers['x-goog-api-key'], GEMINI_KEY);
      assert.equal(probe.status, 200);
    });
  });

  it('readyz shows all three backends up (their probes authenticate)', async () => {
    const j = await waitUntil(
      async () => {
        const r = await fetch(`${seam.origin}/readyz`);
        const body = await r.json();
        return body.backends?.length === 3 && body.backends.every((b) => b.up) ? body : null;
      },
      { timeoutMs: 5000, what: 'all backends up' },
    );
    assert.equal(j.ready, true);
  });
});
