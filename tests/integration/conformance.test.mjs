// The conformance matrix of issue 4: every official client library (openai,
// @anthropic-ai/sdk, ollama) through seam to every backend kind (a fake
// OpenAI, Anthropic, Ollama and Gemini upstream), for every case below.
//
// A cell is one case run by one client against one backend. It checks both
// ends: what the SDK parsed (content, thinking, tool names and parsed
// arguments, ids, stop reason, usage numbers, error class and status), and
// what the fake received (the translated body read into a provider-neutral
// view by conformance-lib.mjs: messages, system prompt, images, tool
// definitions, calls and results and their ids, thinking control, JSON mode,
// stream flag, max tokens, path and auth headers).
//
// Cases are written once, in a neutral spec; each client writes the spec in
// its own dialect (conformance-lib.mjs CLIENTS[..].build). The run writes
// docs/CONFORMANCE.md (a table per client) when every cell ran; set
// CONFORMANCE_DOC=0 to skip writing it, or a path to write it elsewhere.
//
//   SEAM_BIN=./seam node --test tests/integration/conformance.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startSeam, rid, SEAM_BIN } from './helpers.mjs';
import { BACKENDS, CLIENTS, PNG, NotApplicable, seamYaml, send, ok, withoutIds, assertIds, writeReport } from './conformance-lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DOC = process.env.CONFORMANCE_DOC === '0' ? null : path.resolve(ROOT, process.env.CONFORMANCE_DOC || 'docs/CONFORMANCE.md');

const SYSTEM = 'You are terse.';
const WEATHER = {
  name: 'get_weather',
  description: 'Current weather for a city',
  schema: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'array', items: { type: 'integer' } }, opts: { type: 'object' } }, required: ['city'] },
};
const TIME = { name: 'get_time', description: 'Local time in a time zone', schema: { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] } };
const TRICKY_ARGS = { city: 'Zürich', days: [1, 2, 3], opts: { unit: 'C', note: 'a "quoted" }{ brace, 日本語 🎉' } };
const TIME_ARGS = { tz: 'Europe/Oslo' };
const ANSWER_SCHEMA = {
  type: 'object',
  properties: { answer: { type: 'string' }, confidence: { type: 'number' } },
  required: ['answer', 'confidence'],
  additionalProperties: false,
};
const THOUGHT = 'The user greets me; a short greeting back will do.';
const EFFORTS = ['minimal', 'low', 'medium', 'high', 'xhigh', 'max'];
const FAKE_SIGNATURE = 'ZmFrZS1zaWduYXR1cmU='; // what fake-anthropic signs thinking with

// ----------------------------------------------------------------- checks

function assertStop(c, got, kind) {
  assert.equal(got.stop, c.C.stop[kind], `${c.C.name} client: stop reason`);
}

function assertUsage(c, got) {
  assert.deepEqual(got.usage, c.B.expectUsage, `${c.C.name} client: usage (input, output) from the ${c.B.name} upstream's numbers`);
}

/** Ids the client sees on tool calls: the OpenAI and Anthropic formats need them. */
function assertClientIds(c, calls) {
  if (c.C.name === 'ollama') return;
  for (const x of calls) assert.ok(typeof x.id === 'string' && /^[A-Za-z0-9_-]+$/.test(x.id), `${c.C.name} client: call id ${JSON.stringify(x.id)} is a non-empty token`);
  assert.equal(new Set(calls.map((x) => x.id)).size, calls.length, `${c.C.name} client: call ids are distinct`);
}

function assertCalls(c, got, want) {
  assert.deepEqual(
    got.calls.map(({ name, args }) => ({ name, args })),
    want,
    `${c.C.name} client: tool names and parsed arguments`,
  );
  assertClientIds(c, got.calls);
}

/** The thinking control the backend received when the client asked for reasoning. */
function assertThinkingOn(c, v) {
  const C = c.C.name;
  const t = v.thinking;
  assert.equal(t.mode, 'on', `${c.B.name} upstream: thinking is on (got ${JSON.stringify(t)})`);
  switch (c.B.name) {
    case 'openai':
      if (C === 'openai') assert.equal(t.level, 'medium', 'openai upstream: the same reasoning_effort');
      else assert.ok(EFFORTS.includes(t.level), `openai upstream: reasoning_effort is a level (got ${t.level})`);
      break;
    case 'anthropic':
      assert.ok(t.budget >= 1024 && t.budget < v.maxTokens, `anthropic upstream: 1024 <= budget_tokens ${t.budget} < max_tokens ${v.maxTokens}`);
      if (C === 'openai') assert.equal(t.budget, 8192, 'anthropic upstream: medium effort = 8192 budget tokens');
      if (C === 'anthropic') {
        assert.equal(t.budget, 2048, "anthropic upstream: the client's budget_tokens unchanged");
        assert.equal(v.maxTokens, 4096, "anthropic upstream: the client's max_tokens unchanged");
      }
      break;
    case 'ollama':
      if (C === 'openai') assert.equal(t.level, 'medium', 'ollama upstream: think "medium" for reasoning_effort medium');
      if (C === 'ollama') assert.equal(t.level, true, "ollama upstream: the client's think:true unchanged");
      break;
    case 'gemini':
      assert.equal(t.includeThoughts, true, 'gemini upstream: includeThoughts so that thoughts come back');
      if (C === 'openai') assert.equal(t.budget, 8192, 'gemini upstream: medium effort = thinkingBudget 8192');
      if (C === 'anthropic') assert.equal(t.budget, 2048, "gemini upstream: the client's budget_tokens as thinkingBudget");
      break;
  }
}

function assertThinkingOff(c, v) {
  const t = v.thinking;
  // Anthropic does not think unless asked; every other backend needs an explicit off.
  const off = t.mode === 'off' || (c.B.name === 'anthropic' && t.mode === 'unset');
  assert.ok(off, `${c.B.name} upstream: thinking explicitly off (got ${JSON.stringify(t)}; want ${{ openai: 'reasoning_effort "none"', anthropic: 'no thinking or disabled', ollama: 'think:false', gemini: 'thinkingBudget 0' }[c.B.name]})`);
}

// ------------------------------------------------------------------ cases

const user = (text, extra = {}) => ({ role: 'user', text, ...extra });
const ERROR_STATUS = { 400: 400, 429: 429, 500: 502 };
const ANTHROPIC_ERROR_TYPE = { 400: 'invalid_request_error', 429: 'rate_limit_error' };

function errorCase(status) {
  return {
    id: `error-${status}`,
    title: `upstream ${status}`,
    doc: `the upstream answers HTTP ${status} in its own error shape; the client's SDK throws its error class with status ${ERROR_STATUS[status]}${status === 500 ? ' (a bad gateway)' : ''} and the upstream's message, in the client's dialect.`,
    async run(c) {
      const r = await c.call({ messages: [user('Fail, please.')] }, { type: 'error', status, message: `fake says ${status}` });
      assert.ok(r.error, `${c.C.name} client: the call must fail; it returned ${JSON.stringify(r.got)}`);
      assert.equal(r.error.status, ERROR_STATUS[status], `${c.C.name} client: HTTP status (message: ${r.error.message})`);
      assert.ok(r.error.dialect, `${c.C.name} client: the error body is in the client's dialect (got ${JSON.stringify(r.error.body)})`);
      assert.match(r.error.message, new RegExp(`fake says ${status}`), `${c.C.name} client: the upstream's message is kept`);
      if (c.C.name === 'anthropic' && ANTHROPIC_ERROR_TYPE[status]) assert.equal(r.error.type, ANTHROPIC_ERROR_TYPE[status], 'anthropic client: error type');
      r.view(); // the request did reach the upstream
    },
  };
}

const CASES = [
  {
    id: 'text',
    title: 'text',
    doc: 'a system prompt and one user message, non-streamed: content, stop reason, usage; upstream gets the system prompt in its own place, the message, max tokens 512 and no stream.',
    async run(c) {
      const content = 'Hello, ünïcödé 🎉 world.';
      const r = await c.call({ system: SYSTEM, maxTokens: 512, messages: [user('Say hello.')] }, { type: 'text', content, usage: c.B.usage });
      const got = ok(r);
      assert.equal(got.content, content);
      assert.equal(got.thinking, null, 'no thinking was produced');
      assertStop(c, got, 'end');
      assertUsage(c, got);
      const v = r.view();
      assert.equal(v.system, SYSTEM, 'upstream: the system prompt');
      assert.deepEqual(v.messages, [{ role: 'user', text: r.text('Say hello.') }], 'upstream: the messages');
      assert.equal(v.maxTokens, 512, 'upstream: max tokens');
      assert.equal(v.stream, false, 'upstream: not streamed');
      assert.equal(v.tools, null, 'upstream: no tools');
    },
  },
  {
    id: 'stream-text',
    title: 'streamed text',
    doc: 'the same, streamed: six upstream chunks arrive as several deltas that concatenate to the content; stop reason and usage at the end.',
    async run(c) {
      const content = 'one two three four five six';
      const r = await c.call({ stream: true, messages: [user('Count to six.')] }, { type: 'text', content, chunks: 6, usage: c.B.usage });
      const got = ok(r);
      assert.equal(got.content, content);
      assert.ok(got.deltas >= 3, `${c.C.name} client: relayed incrementally (${got.deltas} deltas for 6 upstream chunks)`);
      assertStop(c, got, 'end');
      assertUsage(c, got);
      const v = r.view();
      assert.equal(v.stream, true, 'upstream: streamed');
      assert.deepEqual(v.messages, [{ role: 'user', text: r.text('Count to six.') }]);
    },
  },
  {
    id: 'tool',
    title: 'tool call',
    doc: 'one tool defined, the upstream calls it with awkward arguments (unicode, quotes, braces, nesting): name and parsed arguments intact, the tool stop reason; upstream gets the tool definition in its format.',
    async run(c) {
      const r = await c.call({ tools: [WEATHER], messages: [user('Weather in Zürich?')] }, { type: 'tools', toolCalls: [{ name: 'get_weather', arguments: TRICKY_ARGS }], usage: c.B.usage });
      const got = ok(r);
      assertCalls(c, got, [{ name: 'get_weather', args: TRICKY_ARGS }]);
      assert.equal(got.content, '', 'no text besides the call');
      assertStop(c, got, 'tools');
      assertUsage(c, got);
      const v = r.view();
      assert.deepEqual(v.tools, [WEATHER], 'upstream: the tool definition');
      assert.equal(v.stream, false);
    },
  },
  {
    id: 'stream-tool',
    title: 'streamed tool call',
    doc: 'the same call streamed (OpenAI argument fragments, Anthropic input_json_delta, Ollama and Gemini whole calls): arguments reassembled intact.',
    async run(c) {
      const r = await c.call({ stream: true, tools: [WEATHER], messages: [user('Weather in Zürich?')] }, { type: 'tools', fragments: 5, toolCalls: [{ name: 'get_weather', arguments: TRICKY_ARGS }], usage: c.B.usage });
      const got = ok(r);
      assertCalls(c, got, [{ name: 'get_weather', args: TRICKY_ARGS }]);
      assertStop(c, got, 'tools');
      assertUsage(c, got);
      const v = r.view();
      assert.deepEqual(v.tools, [WEATHER]);
      assert.equal(v.stream, true);
    },
  },
  {
    id: 'parallel-tools',
    title: 'two parallel tool calls',
    doc: 'two tools, the upstream calls both at once; non-streamed and streamed: both calls in order, distinct ids, parsed arguments.',
    async run(c) {
      const action = {
        type: 'tools',
        fragments: 4,
        toolCalls: [
          { name: 'get_weather', arguments: TRICKY_ARGS },
          { name: 'get_time', arguments: TIME_ARGS },
        ],
        usage: c.B.usage,
      };
      const want = [
        { name: 'get_weather', args: TRICKY_ARGS },
        { name: 'get_time', args: TIME_ARGS },
      ];
      for (const stream of [false, true]) {
        const r = await c.call({ stream, tools: [WEATHER, TIME], messages: [user('Weather and time in Zürich?')] }, action);
        const got = ok(r, stream ? 'the streamed call' : 'the call');
        assertCalls(c, got, want);
        assertStop(c, got, 'tools');
        const v = r.view();
        assert.deepEqual(v.tools, [WEATHER, TIME]);
        assert.equal(v.stream, stream);
      }
    },
  },
  {
    id: 'tool-result',
    title: 'tool-result round trip',
    doc: 'the client sends back two parallel calls and their two results; upstream gets the calls (arguments in its own type) and the results matched to them (ids kept where the client gave them, synthesised consistently where not; names where the provider needs names), then answers text.',
    async run(c) {
      const spec = {
        tools: [WEATHER, TIME],
        messages: [
          user('Weather and time in Oslo?'),
          {
            role: 'assistant',
            calls: [
              { id: { openai: 'call_w1', anthropic: 'toolu_w1' }, name: 'get_weather', args: { city: 'Oslo' } },
              { id: { openai: 'call_t1', anthropic: 'toolu_t1' }, name: 'get_time', args: TIME_ARGS },
            ],
          },
          {
            role: 'tool',
            results: [
              { id: { openai: 'call_w1', anthropic: 'toolu_w1' }, name: 'get_weather', content: '{"temp_c":-3}' },
              { id: { openai: 'call_t1', anthropic: 'toolu_t1' }, name: 'get_time', content: '{"time":"12:00"}' },
            ],
          },
        ],
      };
      const content = 'It is -3 °C and noon in Oslo.';
      const r = await c.call(spec, { type: 'text', content, usage: c.B.usage });
      const got = ok(r);
      assert.equal(got.content, content);
      assertStop(c, got, 'end');
      assertUsage(c, got);
      const v = r.view();
      assert.deepEqual(
        withoutIds(v.messages),
        [
          { role: 'user', text: r.text('Weather and time in Oslo?') },
          {
            role: 'assistant',
            calls: [
              { name: 'get_weather', args: { city: 'Oslo' } },
              { name: 'get_time', args: TIME_ARGS },
            ],
          },
          {
            role: 'tool',
            results: [
              { name: 'get_weather', content: { temp_c: -3 } },
              { name: 'get_time', content: { time: '12:00' } },
            ],
          },
        ],
        'upstream: calls and results',
      );
      const clientIds = { openai: ['call_w1', 'call_t1'], anthropic: ['toolu_w1', 'toolu_t1'] }[c.C.name];
      assertIds(v, c.B, clientIds);
    },
  },
  {
    id: 'image',
    title: 'image input',
    doc: "a user message with text and a PNG (OpenAI data URL, Anthropic base64 block, Ollama raw base64): upstream gets the same bytes in its format, with the MIME type where the format carries one (sniffed from the bytes for Ollama's raw base64).",
    async run(c) {
      const r = await c.call({ messages: [user('What is in this image?', { image: true })] }, { type: 'text', content: 'A single pixel.', usage: c.B.usage });
      const got = ok(r);
      assert.equal(got.content, 'A single pixel.');
      assertStop(c, got, 'end');
      const v = r.view();
      assert.deepEqual(v.messages, [{ role: 'user', text: r.text('What is in this image?'), images: [{ mime: c.B.name === 'ollama' ? null : 'image/png', data: PNG }] }], 'upstream: text and image');
    },
  },
  {
    id: 'thinking-on',
    title: 'thinking on',
    doc: "the client asks for reasoning (openai reasoning_effort medium, anthropic thinking budget 2048 with max_tokens 4096, ollama think:true); upstream gets its own thinking control (same value for the same dialect, the documented effort/budget mapping otherwise) and the thinking comes back as reasoning_content / thinking blocks / message.thinking, non-streamed and streamed, before the content.",
    async run(c) {
      for (const stream of [false, true]) {
        const r = await c.call({ stream, thinking: 'on', messages: [user('Hello!')] }, { type: 'text', content: 'Hello.', thinking: THOUGHT, usage: c.B.usage });
        const got = ok(r, stream ? 'the streamed call' : 'the call');
        assert.equal(got.thinking, THOUGHT, `${c.C.name} client: the thinking (${stream ? 'streamed' : 'non-streamed'})`);
        assert.equal(got.content, 'Hello.');
        assertStop(c, got, 'end');
        assertUsage(c, got);
        if (c.C.name === 'anthropic') {
          for (const s of got.signatures) assert.equal(typeof s, 'string', 'anthropic client: thinking blocks have a signature field');
          if (c.B.name === 'anthropic') assert.deepEqual(got.signatures, [FAKE_SIGNATURE], "anthropic client: Anthropic's signature passed through");
        }
        const v = r.view();
        assertThinkingOn(c, v);
        assert.equal(v.stream, stream);
      }
    },
  },
  {
    id: 'thinking-off',
    title: 'thinking off',
    doc: 'the client turns reasoning off explicitly (reasoning_effort none, thinking disabled, think:false); upstream gets an explicit off where the provider would otherwise think (Ollama and Gemini think by default) and no thinking reaches the client.',
    async run(c) {
      const r = await c.call({ thinking: 'off', messages: [user('Hello!')] }, { type: 'text', content: 'Hello.', thinking: THOUGHT, usage: c.B.usage });
      const got = ok(r);
      assert.equal(got.thinking, null, `${c.C.name} client: no thinking`);
      assert.equal(got.content, 'Hello.');
      assertStop(c, got, 'end');
      assertThinkingOff(c, r.view());
    },
  },
  {
    id: 'json',
    title: 'JSON output',
    doc: "a JSON schema (openai response_format json_schema, anthropic output_config.format, ollama format:<schema>) reaches the upstream as its own structured-output control (response_format, output_config.format, format, responseMimeType + responseJsonSchema) and the JSON content comes back intact; then schemaless JSON mode (openai json_object, ollama format:'json'), which Anthropic has no equivalent for (the request is still served).",
    async run(c) {
      const answer = { answer: '42', confidence: 0.9 };
      const r = await c.call({ json: 'schema', schema: ANSWER_SCHEMA, messages: [user('Answer in JSON.')] }, { type: 'text', content: JSON.stringify(answer), usage: c.B.usage });
      const got = ok(r);
      assert.deepEqual(JSON.parse(got.content), answer);
      assertStop(c, got, 'end');
      assert.deepEqual(r.view().json, { kind: 'schema', schema: ANSWER_SCHEMA }, `${c.B.name} upstream: the schema as its structured-output control`);
      if (c.C.name === 'anthropic') return; // no schemaless JSON mode in the Messages API
      const r2 = await c.call({ json: 'object', messages: [user('Answer in JSON.')] }, { type: 'text', content: JSON.stringify(answer), usage: c.B.usage });
      assert.deepEqual(JSON.parse(ok(r2, 'the json_object call').content), answer);
      assert.deepEqual(r2.view().json, c.B.name === 'anthropic' ? null : { kind: 'object' }, `${c.B.name} upstream: schemaless JSON mode`);
    },
  },
  errorCase(400),
  errorCase(429),
  errorCase(500),
  {
    id: 'mid-stream-error',
    title: 'upstream error mid-stream',
    doc: "the upstream streams two chunks then its own mid-stream error (OpenAI error event, Anthropic event: error, Ollama {\"error\"} line, Gemini error event): the client receives the two chunks and then the SDK's stream iteration throws with the upstream's message; never a silent, truncated success.",
    async run(c) {
      const r = await c.call({ stream: true, messages: [user('Stream, then fail.')] }, { type: 'stream-error', content: 'w1 w2 w3 w4 w5 w6', chunks: 6, afterChunks: 2, message: 'upstream overloaded (fake)' });
      assert.ok(r.error, `${c.C.name} client: the stream must throw; it ended normally with ${JSON.stringify(r.got)}`);
      assert.equal(r.partial.content, 'w1 w2 ', `${c.C.name} client: what came before the error was delivered`);
      assert.match(r.error.message ?? '', /overloaded/i, `${c.C.name} client: the error carries the upstream's message (got ${r.raw?.constructor?.name}: ${r.raw?.message})`);
      assert.equal(r.view().stream, true);
    },
  },
];

// ----------------------------------------------------------------- the run

const KEYS = {
  openai: 'sk-test-openai-' + crypto.randomBytes(6).toString('hex'),
  anthropic: 'sk-ant-test-' + crypto.randomBytes(6).toString('hex'),
  ollama: null,
  gemini: 'AIza-test-' + crypto.randomBytes(6).toString('hex'),
};
const KEY_ENV = { openai: 'SEAM_CONF_OPENAI_KEY', anthropic: 'SEAM_CONF_ANTHROPIC_KEY', gemini: 'SEAM_CONF_GEMINI_KEY' };

describe('conformance matrix: clients × backends', { timeout: 300000 }, () => {
  let seam;
  const fakes = {};
  const sdks = {};
  const actions = new Map(); // request id -> the action every fake answers it with
  const results = {};
  const t0 = Date.now();

  before(async () => {
    for (const B of Object.values(BACKENDS)) {
      fakes[B.name] = await B.start(KEYS[B.name]);
      fakes[B.name].setScript((rec) => {
        for (const [id, a] of actions) if (rec.rawBody.includes(id)) return a;
        return null;
      });
    }
    seam = await startSeam(seamYaml(fakes, KEY_ENV), {
      env: Object.fromEntries(Object.entries(KEY_ENV).map(([p, env]) => [env, KEYS[p]])),
    });
    for (const C of Object.values(CLIENTS)) sdks[C.name] = C.make(seam);
  });

  after(async () => {
    let code;
    if (seam) code = await seam.stop();
    for (const f of Object.values(fakes)) await f.close();
    const cells = Object.keys(CLIENTS).length * CASES.length * Object.keys(BACKENDS).length;
    if (DOC && Object.keys(results).length === cells) {
      const version = (pkg) => JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
      const clients = Object.fromEntries(Object.values(CLIENTS).map((C) => [C.name, { ...C, version: version(C.pkg) }]));
      writeReport(DOC, { root: ROOT, cases: CASES, results, backends: BACKENDS, clients, seamBin: SEAM_BIN, durationMs: Date.now() - t0 });
    }
    if (seam) assert.equal(code, 0, 'seam exits 0');
  });

  /** The context a cell runs with: its client, backend, and call(). */
  function context(C, B) {
    return {
      C,
      B,
      /**
       * Sends <spec> (neutral; see conformance-lib.mjs) with the client to
       * B's model, the fake answering with <action>. Returns send()'s result
       * plus text(s) (the user text as sent, with its request id) and view()
       * (the neutral view of what the fake received, after checking path
       * and auth headers).
       */
      async call(spec, action) {
        const id = rid();
        actions.set(id, action);
        const tag = (s) => `[${id}] ${s}`;
        const messages = spec.messages.map((m, i) => (i === 0 ? { ...m, text: tag(m.text) } : m));
        const r = await send(C, sdks[C.name], { ...spec, model: B.model, messages });
        r.text = tag;
        r.view = () => {
          const rec = fakes[B.name].requests.find((x) => x.method === 'POST' && x.rawBody.includes(id));
          const why = r.error ? `; the client got status ${r.error.status}: ${r.error.message}` : '';
          assert.ok(rec, `the request never reached the ${B.name} upstream${why}`);
          assert.equal(rec.validation, undefined, `the ${B.name} upstream rejected seam's request as its real API would: ${rec.validation}`);
          B.checkRequest(rec, KEYS[B.name], spec.stream === true);
          return B.read(rec);
        };
        return r;
      },
    };
  }

  for (const C of Object.values(CLIENTS)) {
    describe(`client ${C.name}`, () => {
      for (const k of CASES) {
        for (const B of Object.values(BACKENDS)) {
          it(`${C.name} × ${k.title} × ${B.name}`, async (t) => {
            const key = `${C.name}/${k.id}/${B.name}`;
            const cell = { client: C.name, case: k.title, backend: B.name };
            try {
              await k.run(context(C, B));
              results[key] = { ...cell, status: 'pass' };
            } catch (e) {
              if (e instanceof NotApplicable) {
                results[key] = { ...cell, status: 'na', message: e.message };
                t.skip(`n/a: ${e.message}`);
                return;
              }
              results[key] = { ...cell, status: 'fail', message: e?.message ?? String(e) };
              throw e;
            }
          });
        }
      }
    });
  }
});
