// The pieces of the conformance matrix (conformance.test.mjs): the four
// backends (a fake upstream each, the usage numbers it is scripted with, and
// a reader that turns the exact body it received into one provider-neutral
// view), the three clients (the official SDK, a builder that writes a
// provider-neutral request spec in the client's own dialect, and a reader
// that turns what the SDK parsed into one neutral result), and the writer of
// docs/CONFORMANCE.md.
//
// Neutral request spec (what a case asks for; each client writes it its way):
//   { system, maxTokens, stream, thinking: 'on'|'off', json: 'schema'|'object',
//     tools: [{ name, description, schema }],
//     messages: [ { role:'user', text, image: true }
//               | { role:'assistant', calls: [{ id: {openai, anthropic}, name, args }] }
//               | { role:'tool', results: [{ id: {openai, anthropic}, name, content }] } ] }
//
// Neutral view of what a fake received (each backend reads its own format):
//   { path, stream, system, maxTokens, tools, thinking: { mode, level, budget },
//     json: { kind:'schema', schema } | { kind:'object' } | null,
//     messages: [ { role:'user', text, images: [{ mime, data }] }
//               | { role:'assistant', text, calls: [{ id, name, args }] }
//               | { role:'tool', results: [{ id, name, content }] } ] }
//
// Neutral result of what the SDK parsed:
//   { content, thinking, signatures, calls: [{ id, name, args }], stop,
//     usage: { input, output }, deltas }

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import { within } from './helpers.mjs';
import { startFakeOpenAI } from '../upstreams/fake-openai.mjs';
import { startFakeAnthropic } from '../upstreams/fake-anthropic.mjs';
import { startFakeOllama } from '../upstreams/fake-ollama.mjs';
import { startFakeGemini } from '../upstreams/fake-gemini.mjs';

/** A 1x1 PNG, base64. */
export const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const CALL_TIMEOUT_MS = 10000;

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const tryJSON = (s) => {
  if (typeof s !== 'string') return s;
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
};

// ------------------------------------------------------------------ backends

/** What text an OpenAI/Ollama content field carries (string or parts). */
function openaiText(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content
      .filter((p) => p?.type === 'text')
      .map((p) => p.text)
      .join('\n');
  return '';
}

function dataURL(u) {
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(u ?? '');
  return m ? { mime: m[1], data: m[2] } : { mime: null, url: u };
}

/** Sets <k> on <o> when <v> is not empty. */
function put(o, k, v) {
  if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) return o;
  o[k] = v;
  return o;
}

/** Appends results to the last turn when it is a tool turn, else a new one. */
function pushResults(messages, results) {
  const last = messages.at(-1);
  if (last?.role === 'tool') last.results.push(...results);
  else messages.push({ role: 'tool', results });
}

function readOpenAI(rec) {
  const b = rec.body;
  const system = [];
  const messages = [];
  const names = new Map();
  for (const m of b.messages ?? []) {
    if (m.role === 'system' || m.role === 'developer') system.push(openaiText(m.content));
    else if (m.role === 'user') {
      const images = Array.isArray(m.content) ? m.content.filter((p) => p?.type === 'image_url').map((p) => dataURL(p.image_url?.url)) : [];
      messages.push(put(put({ role: 'user' }, 'text', openaiText(m.content)), 'images', images));
    } else if (m.role === 'assistant') {
      const calls = (m.tool_calls ?? []).map((c) => {
        assert.equal(c.type, 'function', 'openai upstream: tool_calls[].type is "function"');
        assert.equal(typeof c.function?.arguments, 'string', 'openai upstream: tool call arguments are a JSON string');
        names.set(c.id, c.function.name);
        return { id: c.id, name: c.function.name, args: JSON.parse(c.function.arguments) };
      });
      messages.push(put(put({ role: 'assistant' }, 'text', openaiText(m.content)), 'calls', calls));
    } else if (m.role === 'tool') {
      pushResults(messages, [{ id: m.tool_call_id, name: names.get(m.tool_call_id) ?? `(no call with id ${m.tool_call_id})`, content: tryJSON(openaiText(m.content)) }]);
    } else messages.push({ role: `unexpected role ${m.role}` });
  }
  const effort = b.reasoning_effort;
  const rf = b.response_format;
  return {
    path: rec.path,
    stream: b.stream === true,
    system: system.length ? system.join('\n') : null,
    maxTokens: b.max_completion_tokens ?? b.max_tokens ?? null,
    messages,
    tools: b.tools ? b.tools.map((t) => put(put({ name: t.function?.name }, 'description', t.function?.description), 'schema', t.function?.parameters)) : null,
    thinking: effort === undefined ? { mode: 'unset' } : effort === 'none' ? { mode: 'off', level: effort } : { mode: 'on', level: effort },
    json: rf?.type === 'json_schema' ? { kind: 'schema', schema: rf.json_schema?.schema } : rf?.type === 'json_object' ? { kind: 'object' } : null,
  };
}

function anthropicText(content) {
  if (typeof content === 'string') return content;
  return (content ?? [])
    .filter((x) => x?.type === 'text')
    .map((x) => x.text)
    .join('\n');
}

function readAnthropic(rec) {
  const b = rec.body;
  const messages = [];
  const names = new Map();
  for (const m of b.messages ?? []) {
    const blocks = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content ?? [];
    if (m.role === 'user') {
      const results = blocks
        .filter((x) => x.type === 'tool_result')
        .map((x) => ({ id: x.tool_use_id, name: names.get(x.tool_use_id) ?? `(no tool_use with id ${x.tool_use_id})`, content: tryJSON(anthropicText(x.content)) }));
      if (results.length) pushResults(messages, results);
      const rest = blocks.filter((x) => x.type !== 'tool_result');
      const images = rest.filter((x) => x.type === 'image').map((x) => (x.source?.type === 'base64' ? { mime: x.source.media_type, data: x.source.data } : { mime: null, url: x.source?.url }));
      const text = anthropicText(rest);
      if (text || images.length) messages.push(put(put({ role: 'user' }, 'text', text), 'images', images));
    } else {
      const calls = blocks
        .filter((x) => x.type === 'tool_use')
        .map((x) => {
          assert.ok(isObj(x.input), 'anthropic upstream: tool_use input is an object');
          names.set(x.id, x.name);
          return { id: x.id, name: x.name, args: x.input };
        });
      messages.push(put(put({ role: 'assistant' }, 'text', anthropicText(blocks)), 'calls', calls));
    }
  }
  const t = b.thinking;
  const format = b.output_config?.format;
  return {
    path: rec.path,
    stream: b.stream === true,
    system: b.system === undefined ? null : typeof b.system === 'string' ? b.system : b.system.map((x) => x.text).join('\n'),
    maxTokens: b.max_tokens ?? null,
    messages,
    tools: b.tools ? b.tools.map((x) => put(put({ name: x.name }, 'description', x.description), 'schema', x.input_schema)) : null,
    thinking: t === undefined ? { mode: 'unset' } : t.type === 'enabled' ? { mode: 'on', budget: t.budget_tokens } : t.type === 'adaptive' ? { mode: 'on', level: 'adaptive' } : { mode: 'off' },
    json: format?.type === 'json_schema' ? { kind: 'schema', schema: format.schema } : null,
  };
}

function readOllama(rec) {
  const b = rec.body;
  const system = [];
  const messages = [];
  for (const m of b.messages ?? []) {
    if (m.role === 'system') system.push(m.content);
    else if (m.role === 'user')
      messages.push(
        put(
          put({ role: 'user' }, 'text', m.content),
          'images',
          (m.images ?? []).map((d) => ({ mime: null, data: d })),
        ),
      );
    else if (m.role === 'assistant') {
      const calls = (m.tool_calls ?? []).map((c) => {
        assert.ok(isObj(c.function?.arguments), 'ollama upstream: tool call arguments are an object');
        return { id: c.id ?? null, name: c.function.name, args: c.function.arguments };
      });
      messages.push(put(put({ role: 'assistant' }, 'text', m.content), 'calls', calls));
    } else if (m.role === 'tool') pushResults(messages, [{ id: m.tool_call_id ?? null, name: m.tool_name ?? '(no tool_name)', content: tryJSON(m.content) }]);
  }
  const think = b.think;
  const f = b.format;
  return {
    path: rec.path,
    stream: b.stream !== false, // Ollama streams unless told not to
    system: system.length ? system.join('\n') : null,
    maxTokens: b.options?.num_predict ?? null,
    messages,
    tools: b.tools ? b.tools.map((t) => put(put({ name: t.function?.name }, 'description', t.function?.description), 'schema', t.function?.parameters)) : null,
    // Absent means ON for a thinking model (Ollama's default).
    thinking: think === undefined ? { mode: 'unset' } : think === false ? { mode: 'off' } : { mode: 'on', level: think },
    json: f === 'json' ? { kind: 'object' } : isObj(f) ? { kind: 'schema', schema: f } : null,
  };
}

function readGemini(rec) {
  const b = rec.body;
  const messages = [];
  for (const c of b.contents ?? []) {
    const parts = c.parts ?? [];
    if (c.role === 'user') {
      const results = parts.filter((p) => p.functionResponse).map((p) => ({ id: p.functionResponse.id ?? null, name: p.functionResponse.name, content: p.functionResponse.response }));
      if (results.length) pushResults(messages, results);
      const text = parts
        .filter((p) => typeof p.text === 'string')
        .map((p) => p.text)
        .join('\n');
      const images = parts.filter((p) => p.inlineData).map((p) => ({ mime: p.inlineData.mimeType, data: p.inlineData.data }));
      if (text || images.length) messages.push(put(put({ role: 'user' }, 'text', text), 'images', images));
    } else {
      const text = parts
        .filter((p) => typeof p.text === 'string' && !p.thought)
        .map((p) => p.text)
        .join('');
      const calls = parts.filter((p) => p.functionCall).map((p) => ({ id: p.functionCall.id ?? null, name: p.functionCall.name, args: p.functionCall.args ?? {} }));
      messages.push(put(put({ role: 'assistant' }, 'text', text), 'calls', calls));
    }
  }
  const g = b.generationConfig ?? {};
  const tc = g.thinkingConfig;
  const decls = (b.tools ?? []).flatMap((t) => t.functionDeclarations ?? []);
  return {
    path: rec.path,
    stream: rec.path.endsWith(':streamGenerateContent'),
    system: b.systemInstruction ? b.systemInstruction.parts.map((p) => p.text).join('\n') : null,
    maxTokens: g.maxOutputTokens ?? null,
    messages,
    tools: decls.length ? decls.map((d) => put(put({ name: d.name }, 'description', d.description), 'schema', d.parametersJsonSchema ?? d.parameters)) : null,
    thinking:
      tc === undefined
        ? { mode: 'unset' }
        : tc.thinkingBudget === 0
          ? { mode: 'off', budget: 0 }
          : { mode: 'on', budget: tc.thinkingBudget, level: tc.thinkingLevel, includeThoughts: tc.includeThoughts === true },
    json: g.responseMimeType === 'application/json' ? (g.responseJsonSchema ?? g.responseSchema ? { kind: 'schema', schema: g.responseJsonSchema ?? g.responseSchema } : { kind: 'object' }) : null,
  };
}

/** Asserts <body> has only <allowed> top-level keys and never seam's own. */
function assertKeys(name, body, allowed) {
  const extra = Object.keys(body ?? {}).filter((k) => !allowed.includes(k));
  assert.deepEqual(extra, [], `${name} upstream: unexpected top-level keys in the request body`);
}

/**
 * The four backends. `usage` is what the fake is scripted to report (in its
 * own names); `expectUsage` what every client must see as input/output
 * tokens (Gemini output = candidates + thoughts).
 */
export const BACKENDS = {
  openai: {
    name: 'openai',
    title: 'OpenAI',
    backend: 'gpt',
    model: 'gpt-5.1',
    start: (key) => startFakeOpenAI({ name: 'gpt', model: 'gpt-5.1', apiKey: key }),
    usage: { prompt_tokens: 19, completion_tokens: 7, total_tokens: 26 },
    expectUsage: { input: 19, output: 7 },
    read: readOpenAI,
    hasIds: true,
    checkRequest(rec, key, stream) {
      assert.equal(rec.path, '/v1/chat/completions');
      assert.equal(rec.body.model, BACKENDS.openai.model);
      // Same dialect: fields seam does not model may pass through, but never seam's own.
      assert.equal(rec.body.seam, undefined, 'openai upstream: no "seam" key');
      assert.equal(rec.headers.authorization, `Bearer ${key}`, 'openai upstream: the backend key as a bearer token');
      if (stream) assert.equal(rec.body.stream_options?.include_usage, true, 'openai upstream: usage requested on streams');
    },
  },
  anthropic: {
    name: 'anthropic',
    title: 'Anthropic',
    backend: 'claude',
    model: 'claude-sonnet-4-5',
    start: (key) => startFakeAnthropic({ name: 'claude', model: 'claude-sonnet-4-5', apiKey: key }),
    usage: { input_tokens: 11, output_tokens: 13, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    expectUsage: { input: 11, output: 13 },
    read: readAnthropic,
    hasIds: true,
    checkRequest(rec, key) {
      assert.equal(rec.path, '/v1/messages');
      assert.equal(rec.body.model, BACKENDS.anthropic.model);
      assertKeys('anthropic', rec.body, ['model', 'max_tokens', 'messages', 'system', 'tools', 'tool_choice', 'thinking', 'output_config', 'stop_sequences', 'stream', 'temperature', 'top_p', 'top_k', 'metadata']);
      assert.equal(rec.headers['x-api-key'], key, 'anthropic upstream: x-api-key');
      assert.equal(rec.headers['anthropic-version'], '2023-06-01', 'anthropic upstream: anthropic-version');
      assert.equal(rec.headers.authorization, undefined, 'anthropic upstream: no Authorization header');
      assert.ok(Number.isInteger(rec.body.max_tokens), 'anthropic upstream: max_tokens always set');
    },
  },
  ollama: {
    name: 'ollama',
    title: 'Ollama',
    backend: 'gemma',
    model: 'gemma4:31b',
    start: () => startFakeOllama({ name: 'gemma', model: 'gemma4:31b', thinks: true }),
    usage: { prompt_eval_count: 21, eval_count: 9 },
    expectUsage: { input: 21, output: 9 },
    read: readOllama,
    hasIds: false,
    checkRequest(rec, _key, stream) {
      assert.equal(rec.path, '/api/chat', 'ollama upstream: native /api/chat');
      assert.equal(rec.body.model, BACKENDS.ollama.model);
      assertKeys('ollama', rec.body, ['model', 'messages', 'tools', 'think', 'format', 'options', 'stream', 'keep_alive']);
      assert.equal(rec.body.stream, stream, 'ollama upstream: stream is explicit');
    },
  },
  gemini: {
    name: 'gemini',
    title: 'Gemini',
    backend: 'gemini',
    model: 'gemini-2.5-flash',
    start: (key) => startFakeGemini({ name: 'gemini', model: 'gemini-2.5-flash', apiKey: key }),
    usage: { promptTokenCount: 17, candidatesTokenCount: 6, thoughtsTokenCount: 4 },
    expectUsage: { input: 17, output: 10 },
    read: readGemini,
    hasIds: false,
    checkRequest(rec, key, stream) {
      assert.equal(rec.path, `/v1beta/models/${BACKENDS.gemini.model}:${stream ? 'streamGenerateContent' : 'generateContent'}`);
      if (stream) assert.equal(rec.query.get('alt'), 'sse', 'gemini upstream: alt=sse');
      assert.equal(rec.headers['x-goog-api-key'], key, 'gemini upstream: x-goog-api-key');
      assertKeys('gemini', rec.body, ['contents', 'systemInstruction', 'tools', 'toolConfig', 'generationConfig', 'safetySettings']);
    },
  },
};

/** seam's config: one backend per fake, each pinned by the model it lists. */
export function seamYaml(fakes, keyEnv) {
  return `# seam conformance matrix config (generated)
listen: 127.0.0.1:0
workers: 2
limits: { max_body_bytes: 33554432, request_timeout_ms: 5000 }
backends:
  - name: gpt
    provider: openai
    url: ${fakes.openai.url}
    location: cloud
    clearance: regulated
    models: [${BACKENDS.openai.model}]
    api_key_env: ${keyEnv.openai}
  - name: claude
    provider: anthropic
    url: ${fakes.anthropic.url}
    location: cloud
    clearance: regulated
    models: [${BACKENDS.anthropic.model}]
    api_key_env: ${keyEnv.anthropic}
    max_tokens_default: 2048
  - name: gemma
    provider: ollama
    url: ${fakes.ollama.url}
    location: local
    models: [${BACKENDS.ollama.model}]
  - name: gemini
    provider: gemini
    url: ${fakes.gemini.url}
    location: cloud
    clearance: regulated
    models: [${BACKENDS.gemini.model}]
    api_key_env: ${keyEnv.gemini}
pools:
  local: { backends: [gemma], retries: 0 }
  cloud: { backends: [gpt, claude, gemini], retries: 0 }
# One attempt per cell and a breaker that never opens: each cell checks what
# one attempt answers (chaos.test.mjs covers retries and breakers).
circuit: { failures: 1000, window_ms: 1000 }
policy:
  default: local
`;
}

/** A view's messages without ids, for deepEqual against a neutral expectation. */
export function withoutIds(messages) {
  return messages.map((m) => {
    const o = { ...m };
    if (o.calls) o.calls = o.calls.map(({ id: _id, ...c }) => c);
    if (o.results) o.results = o.results.map(({ id: _id, ...r }) => r);
    return o;
  });
}

/**
 * Checks tool-call ids in a received view: where the backend's format has
 * ids, every call has a distinct non-empty one, every result names one of
 * them, and ids the client chose (clientIds) reach the backend unchanged.
 */
export function assertIds(view, B, clientIds) {
  const calls = view.messages.flatMap((m) => m.calls ?? []);
  const results = view.messages.flatMap((m) => m.results ?? []);
  if (B.hasIds) {
    for (const c of calls) assert.ok(typeof c.id === 'string' && /^[A-Za-z0-9_-]+$/.test(c.id), `${B.name} upstream: call id ${JSON.stringify(c.id)} is a non-empty token`);
    assert.equal(new Set(calls.map((c) => c.id)).size, calls.length, `${B.name} upstream: call ids are distinct`);
    if (clientIds) assert.deepEqual(calls.map((c) => c.id), clientIds, `${B.name} upstream: the client's call ids are kept`);
  }
  const ids = new Set(calls.map((c) => c.id));
  for (const r of results) if (r.id) assert.ok(ids.has(r.id), `${B.name} upstream: result id ${r.id} answers a call in the conversation`);
}

// ------------------------------------------------------------------- clients

const STOP = {
  openai: { end: 'stop', tools: 'tool_calls' },
  anthropic: { end: 'end_turn', tools: 'tool_use' },
  ollama: { end: 'stop', tools: 'stop' }, // Ollama keeps "stop" when tools were called
};

function buildOpenAI(spec) {
  const messages = [];
  if (spec.system) messages.push({ role: 'system', content: spec.system });
  for (const m of spec.messages) {
    if (m.role === 'user')
      messages.push({
        role: 'user',
        content: m.image
          ? [
              { type: 'text', text: m.text },
              { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
            ]
          : m.text,
      });
    else if (m.role === 'assistant')
      messages.push({
        role: 'assistant',
        content: null,
        tool_calls: m.calls.map((c) => ({ id: c.id.openai, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.args) } })),
      });
    else for (const r of m.results) messages.push({ role: 'tool', tool_call_id: r.id.openai, content: r.content });
  }
  const p = { model: spec.model, messages };
  if (spec.maxTokens) p.max_completion_tokens = spec.maxTokens;
  if (spec.tools) p.tools = spec.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.schema } }));
  if (spec.thinking === 'on') p.reasoning_effort = 'medium';
  if (spec.thinking === 'off') p.reasoning_effort = 'none';
  if (spec.json === 'schema') p.response_format = { type: 'json_schema', json_schema: { name: 'answer', schema: spec.schema, strict: true } };
  if (spec.json === 'object') p.response_format = { type: 'json_object' };
  return p;
}

function buildAnthropic(spec) {
  const messages = [];
  for (const m of spec.messages) {
    if (m.role === 'user')
      messages.push({
        role: 'user',
        content: m.image
          ? [
              { type: 'text', text: m.text },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            ]
          : m.text,
      });
    else if (m.role === 'assistant') messages.push({ role: 'assistant', content: m.calls.map((c) => ({ type: 'tool_use', id: c.id.anthropic, name: c.name, input: c.args })) });
    else messages.push({ role: 'user', content: m.results.map((r) => ({ type: 'tool_result', tool_use_id: r.id.anthropic, content: r.content })) });
  }
  const p = { model: spec.model, max_tokens: spec.maxTokens ?? 1024, messages };
  if (spec.system) p.system = spec.system;
  if (spec.tools) p.tools = spec.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.schema }));
  if (spec.thinking === 'on') {
    p.thinking = { type: 'enabled', budget_tokens: 2048 };
    p.max_tokens = 4096;
  }
  if (spec.thinking === 'off') p.thinking = { type: 'disabled' };
  if (spec.json === 'schema') p.output_config = { format: { type: 'json_schema', schema: spec.schema } };
  if (spec.json === 'object') throw new NotApplicable('the Messages API has no schemaless JSON mode');
  return p;
}

function buildOllama(spec) {
  const messages = [];
  if (spec.system) messages.push({ role: 'system', content: spec.system });
  for (const m of spec.messages) {
    if (m.role === 'user') messages.push(m.image ? { role: 'user', content: m.text, images: [PNG] } : { role: 'user', content: m.text });
    else if (m.role === 'assistant') messages.push({ role: 'assistant', content: '', tool_calls: m.calls.map((c) => ({ function: { name: c.name, arguments: c.args } })) });
    else for (const r of m.results) messages.push({ role: 'tool', tool_name: r.name, content: r.content });
  }
  const p = { model: spec.model, messages };
  if (spec.maxTokens) p.options = { num_predict: spec.maxTokens };
  if (spec.tools) p.tools = spec.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.schema } }));
  if (spec.thinking === 'on') p.think = true;
  if (spec.thinking === 'off') p.think = false;
  if (spec.json === 'schema') p.format = spec.schema;
  if (spec.json === 'object') p.format = 'json';
  return p;
}

/** Thrown by a cell that cannot be expressed in a client's dialect. */
export class NotApplicable extends Error {}

async function runOpenAI(sdk, params, stream, acc) {
  if (!stream) {
    const r = await sdk.chat.completions.create(params);
    assert.equal(r.object, 'chat.completion');
    const m = r.choices[0].message;
    acc.content = m.content ?? '';
    acc.thinking = m.reasoning_content ?? null;
    acc.calls = (m.tool_calls ?? []).map((c) => {
      assert.equal(c.type, 'function');
      assert.equal(typeof c.function.arguments, 'string', 'openai client: arguments is a JSON string');
      return { id: c.id, name: c.function.name, args: JSON.parse(c.function.arguments) };
    });
    acc.stop = r.choices[0].finish_reason;
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens, 'openai client: total_tokens = prompt + completion');
    acc.usage = { input: r.usage.prompt_tokens, output: r.usage.completion_tokens };
    acc.deltas = 1;
    return acc;
  }
  const s = await sdk.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  const calls = [];
  let thinking = '';
  for await (const ch of s) {
    if (ch.usage) acc.usage = { input: ch.usage.prompt_tokens, output: ch.usage.completion_tokens };
    for (const c of ch.choices ?? []) {
      const d = c.delta ?? {};
      if (d.reasoning_content) {
        assert.equal(acc.content, '', 'openai client: reasoning comes before content');
        thinking += d.reasoning_content;
      }
      if (d.content) {
        acc.content += d.content;
        acc.deltas++;
      }
      for (const tc of d.tool_calls ?? []) {
        const t = (calls[tc.index] ??= { id: null, name: '', args: '' });
        if (tc.id) t.id = tc.id;
        if (tc.function?.name) t.name += tc.function.name;
        if (tc.function?.arguments) {
          t.args += tc.function.arguments;
          acc.deltas++;
        }
      }
      if (c.finish_reason) acc.stop = c.finish_reason;
    }
  }
  acc.thinking = thinking || null;
  acc.calls = calls.map((c) => ({ ...c, args: JSON.parse(c.args) }));
  return acc;
}

function anthropicMessage(acc, r) {
  assert.equal(r.type, 'message');
  assert.equal(r.role, 'assistant');
  acc.content = r.content
    .filter((b) => b.type === 'text')
    .map((b) => b.text)
    .join('');
  const th = r.content.filter((b) => b.type === 'thinking');
  acc.thinking = th.length ? th.map((b) => b.thinking).join('') : null;
  acc.signatures = th.map((b) => b.signature);
  acc.calls = r.content
    .filter((b) => b.type === 'tool_use')
    .map((b) => {
      assert.ok(isObj(b.input), 'anthropic client: tool_use input is an object');
      return { id: b.id, name: b.name, args: b.input };
    });
  const firstText = r.content.findIndex((b) => b.type === 'text' || b.type === 'tool_use');
  if (th.length && firstText >= 0) assert.ok(r.content.findIndex((b) => b.type === 'thinking') < firstText, 'anthropic client: thinking blocks come first');
  acc.stop = r.stop_reason;
  acc.usage = { input: r.usage.input_tokens, output: r.usage.output_tokens };
  return acc;
}

async function runAnthropic(sdk, params, stream, acc) {
  if (!stream) {
    acc.deltas = 1;
    return anthropicMessage(acc, await sdk.messages.create(params));
  }
  const s = sdk.messages.stream(params);
  s.on('error', () => {}); // the iteration below rethrows it
  for await (const ev of s) {
    if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') {
      acc.content += ev.delta.text;
      acc.deltas++;
    }
    if (ev.type === 'content_block_delta' && ev.delta.type === 'input_json_delta') acc.deltas++;
  }
  return anthropicMessage(acc, await s.finalMessage());
}

function ollamaParse(acc, m) {
  // One object may carry both (stream:false); across lines, thinking first.
  if (m.message?.thinking) {
    assert.equal(acc.content, '', 'ollama client: thinking comes before content');
    acc.thinking = (acc.thinking ?? '') + m.message.thinking;
  }
  if (m.message?.content) {
    acc.content += m.message.content;
    acc.deltas++;
  }
  for (const c of m.message?.tool_calls ?? []) {
    assert.ok(isObj(c.function?.arguments), 'ollama client: tool call arguments are an object');
    acc.calls.push({ id: c.id ?? null, name: c.function.name, args: c.function.arguments });
  }
  if (m.done) {
    acc.stop = m.done_reason;
    acc.usage = { input: m.prompt_eval_count, output: m.eval_count };
    assert.equal(typeof m.total_duration, 'number', 'ollama client: the done object has total_duration (ns)');
  }
}

async function runOllama(sdk, params, stream, acc) {
  if (!stream) {
    const r = await sdk.chat({ ...params, stream: false });
    assert.equal(r.done, true, 'ollama client: done is true');
    ollamaParse(acc, r);
    acc.deltas = 1;
    return acc;
  }
  const it = await sdk.chat({ ...params, stream: true });
  let sawDone = false;
  for await (const m of it) {
    assert.ok(!sawDone, 'ollama client: nothing after the done object');
    ollamaParse(acc, m);
    if (m.done) sawDone = true;
  }
  assert.ok(sawDone, 'ollama client: the stream ends with a done object');
  return acc;
}

/** Reads an SDK's HTTP error into { status, message, type }, checking its dialect. */
function openaiError(e) {
  assert.ok(e instanceof OpenAI.APIError, `openai client: expected OpenAI.APIError, got ${e?.constructor?.name}: ${e?.message}`);
  const dialect = e.status === undefined || (typeof e.error?.message === 'string' && typeof e.error?.type === 'string');
  return { status: e.status, message: e.error?.message ?? e.message, type: e.error?.type ?? e.type, dialect, body: e.error };
}
function anthropicError(e) {
  assert.ok(e instanceof Anthropic.APIError, `anthropic client: expected Anthropic.APIError, got ${e?.constructor?.name}: ${e?.message}`);
  const dialect = e.error?.type === 'error' && typeof e.error?.error?.type === 'string' && typeof e.error?.error?.message === 'string';
  return { status: e.status, message: e.error?.error?.message ?? e.error?.message ?? e.message, type: e.error?.error?.type, dialect, body: e.error };
}
function ollamaError(e) {
  assert.ok(e instanceof Error, `ollama client: expected an Error, got ${e}`);
  // ResponseError.error is the body's "error" (a string in Ollama's dialect).
  const dialect = e.name === 'ResponseError' ? typeof e.error === 'string' : true;
  const message = typeof e.error === 'string' ? e.error : e.error !== undefined ? JSON.stringify(e.error) : e.message;
  return { status: e.status_code, message, type: e.name, dialect, body: e.error };
}

export const CLIENTS = {
  openai: {
    name: 'openai',
    title: 'openai (OpenAI Chat Completions)',
    pkg: 'openai',
    make: (seam) => new OpenAI({ baseURL: `${seam.origin}/v1`, apiKey: 'sk-seam-client', maxRetries: 0, timeout: CALL_TIMEOUT_MS }),
    build: buildOpenAI,
    run: runOpenAI,
    error: openaiError,
    stop: STOP.openai,
  },
  anthropic: {
    name: 'anthropic',
    title: '@anthropic-ai/sdk (Anthropic Messages)',
    pkg: '@anthropic-ai/sdk',
    make: (seam) => new Anthropic({ baseURL: seam.origin, apiKey: 'sk-ant-seam-client', maxRetries: 0, timeout: CALL_TIMEOUT_MS }),
    build: buildAnthropic,
    run: runAnthropic,
    error: anthropicError,
    stop: STOP.anthropic,
  },
  ollama: {
    name: 'ollama',
    title: 'ollama (Ollama native API)',
    pkg: 'ollama',
    make: (seam) => new Ollama({ host: seam.origin }),
    build: buildOllama,
    run: runOllama,
    error: ollamaError,
    stop: STOP.ollama,
  },
};

/**
 * Sends <spec> with client <C> and returns { got } (the neutral result) or,
 * when the SDK throws, { error (neutral), partial (what arrived before), raw }.
 */
export async function send(C, sdk, spec) {
  const params = C.build(spec);
  const acc = { content: '', thinking: null, signatures: [], calls: [], stop: null, usage: null, deltas: 0 };
  try {
    const got = await within(C.run(sdk, params, spec.stream === true, acc), CALL_TIMEOUT_MS + 2000, `${C.name} client call`);
    return { got };
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    if (/did not finish within/.test(e?.message ?? '')) throw e;
    return { error: C.error(e), partial: acc, raw: e };
  }
}

/** Asserts the call succeeded and returns its neutral result. */
export function ok(r, what = 'the call') {
  if (r.error) {
    const e = r.error;
    throw new assert.AssertionError({ message: `${what} failed: status ${e.status}, ${e.type ?? ''}: ${e.message}` });
  }
  return r.got;
}

// ---------------------------------------------------------------- the report

/** Writes the matrix: a table per client, rows = cases, columns = backends. */
export function writeReport(file, { root, cases, results, backends, clients, seamBin, durationMs }) {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    /* not a git checkout */
  }
  let dirty = '';
  try {
    dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() ? ' (with uncommitted changes)' : '';
  } catch {
    /* ignore */
  }
  const mark = { pass: '✅', fail: '❌', na: 'n/a', notrun: '–' };
  const all = Object.values(results);
  const count = (s) => all.filter((r) => r.status === s).length;
  const out = [];
  out.push('# Conformance matrix');
  out.push('');
  out.push('<!-- Generated by tests/integration/conformance.test.mjs; do not edit by hand. -->');
  out.push('');
  out.push(
    'Each cell sends one case through seam with an official client library, to one fake upstream that speaks a provider\'s exact wire format (tests/upstreams/). A cell passes when the SDK parsed the right thing (content, thinking, tool names and parsed arguments, stop reason, usage numbers, error class and status) **and** the fake received the right translated request (messages, system prompt, images, tool definitions, calls and results, ids, thinking control, JSON mode, stream flag).',
  );
  out.push('');
  out.push(`- Date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`);
  out.push(`- Commit: ${commit}${dirty}`);
  out.push(`- Binary: \`${path.basename(seamBin)}\`; run time ${(durationMs / 1000).toFixed(1)} s`);
  out.push(`- Result: ${count('pass')} passed, ${count('fail')} failed, ${count('na')} not applicable${count('notrun') ? `, ${count('notrun')} not run` : ''} (of ${all.length} cells)`);
  out.push(`- Clients: ${Object.values(clients).map((c) => `\`${c.pkg}\` ${c.version}`).join(', ')}`);
  out.push('');
  out.push('Cells: ✅ pass, ❌ fail, n/a not expressible in that client\'s API (reason below), – not run.');
  out.push('');
  for (const C of Object.values(clients)) {
    out.push(`## Client: ${C.title}`);
    out.push('');
    out.push(`| Case | ${Object.values(backends).map((B) => B.title).join(' | ')} |`);
    out.push(`|---|${Object.values(backends).map(() => ':---:').join('|')}|`);
    for (const k of cases) {
      const cells = Object.values(backends).map((B) => mark[results[`${C.name}/${k.id}/${B.name}`]?.status ?? 'notrun']);
      out.push(`| ${k.title} | ${cells.join(' | ')} |`);
    }
    out.push('');
  }
  const notes = all.filter((r) => r.status === 'fail' || r.status === 'na');
  if (notes.length) {
    out.push('## Failures and n/a cells');
    out.push('');
    for (const r of notes) out.push(`- **${r.client} × ${r.case} × ${r.backend}** (${r.status === 'na' ? 'n/a' : 'fail'}): ${oneLine(r.message)}`);
    out.push('');
  }
  out.push('## Cases');
  out.push('');
  for (const k of cases) out.push(`- **${k.title}**: ${k.doc}`);
  out.push('');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, out.join('\n'));
}

function oneLine(s) {
  return String(s ?? '')
    .replace(/\s+/g, ' ')
    .replace(/\|/g, '\\|')
    .slice(0, 400);
}
