// A scriptable fake of Ollama's native API (shared/reference/protocols.md §3):
// POST /api/chat answered as one JSON object (stream:false) or as NDJSON
// (application/x-ndjson; the default when `stream` is absent, as in Ollama):
// thinking lines first, content lines, tool calls whole in one line without
// ids, and the final done:true object with done_reason, token counts and
// nanosecond durations; errors as {"error": "..."}; a mid-stream error as a
// last NDJSON line after status 200; GET /api/tags, /api/version.
// POST /api/embed answers deterministic vectors (see handleEmbed).
//
// It validates what Ollama rejects: images must be raw base64 (no data:
// prefix), tool-call arguments must be objects, `think:true` (or a level) to a
// model that cannot think is a 400; a tool message without tool_name is
// recorded (rec.missingToolName) since Ollama then cannot match it.
// Thinking follows Ollama: a thinking model thinks unless think is false.
//
// Library use:
//   import { startFakeOllama } from '../upstreams/fake-ollama.mjs';
//   const up = await startFakeOllama({ name: 'ollama', model: 'gemma4:31b', thinks: true });
// Standalone: node tests/upstreams/fake-ollama.mjs [--port N] [--model M]
//
// Actions (see fake-common.mjs for the common ones):
//   text:  { content, chunks, delayMs, thinking, finishReason (a done_reason), usage, model }
//   tools: { toolCalls: [{ name, arguments (object or JSON string), id }], content, thinking }
//          the calls arrive whole in one line, without ids unless given
//   usage: { prompt_eval_count, eval_count }
//   error: { status, message }                   {"error": message}
//   stream-error: { afterChunks, message }       then {"error": message} as the last line

import { fileURLToPath } from 'node:url';
import { startFakeServer, actionFor, splitInto, tokens, runStandalone } from './fake-common.mjs';
import { embedVectorsFor, embedTokens } from './fake-openai.mjs';

function lastUserText(body) {
  const msgs = Array.isArray(body?.messages) ? body.messages : [];
  for (let i = msgs.length - 1; i >= 0; i--) if (msgs[i]?.role === 'user') return String(msgs[i].content ?? '');
  return '';
}

/** What Ollama would reject in <b>, or null. */
export function validate(b, thinks) {
  if (!b || typeof b !== 'object' || Array.isArray(b)) return 'invalid request body';
  if (typeof b.model !== 'string' || !b.model) return 'model is required';
  if (!Array.isArray(b.messages)) return 'messages is required';
  for (const [i, m] of b.messages.entries()) {
    if (!['system', 'user', 'assistant', 'tool'].includes(m?.role)) return `invalid role in message ${i}: ${m?.role}`;
    if (m.content !== undefined && typeof m.content !== 'string') return `json: cannot unmarshal ${typeof m.content} into Go struct field Message.messages.content of type string`;
    for (const img of m.images ?? []) if (typeof img !== 'string' || img.startsWith('data:') || !/^[A-Za-z0-9+/=]*$/.test(img)) return 'illegal base64 data at input byte 4';
    for (const c of m.tool_calls ?? []) {
      const args = c?.function?.arguments;
      if (!args || typeof args !== 'object' || Array.isArray(args)) return 'json: cannot unmarshal string into Go struct field ToolCallFunction.messages.tool_calls.function.arguments of type api.ToolCallFunctionArguments';
      if (typeof c.function.name !== 'string') return 'tool call without a function name';
    }
  }
  if (b.think !== undefined && b.think !== false && !thinks) return `"${b.model}" does not support thinking`;
  if (b.think !== undefined && ![true, false, 'low', 'medium', 'high', 'max'].includes(b.think)) return `invalid think value: ${JSON.stringify(b.think)}`;
  if (b.stream !== undefined && typeof b.stream !== 'boolean') return 'stream must be a boolean';
  if (b.options !== undefined && (typeof b.options !== 'object' || Array.isArray(b.options))) return 'options must be an object';
  return null;
}

export async function startFakeOllama(opts = {}) {
  const model = opts.model ?? 'gemma4:31b';
  const thinks = opts.thinks ?? true;

  async function handle(req, res, rec, fake) {
    const p = rec.path;
    if (req.method === 'GET' && p === '/api/tags') {
      return fake.sendJSON(res, rec, 200, {
        models: [
          {
            name: model,
            model,
            modified_at: '2026-04-03T00:00:00Z',
            size: 19000000000,
            digest: 'sha256:fake',
            details: { format: 'gguf', family: 'gemma4', parameter_size: '31B', quantization_level: 'Q4_K_M' },
          },
        ],
      });
    }
    if (req.method === 'GET' && p === '/api/version') return fake.sendJSON(res, rec, 200, { version: '0.12.0' });
    // POST /api/show {model}: the model's capabilities (opts.capabilities, default
    // completion, vision, tools and, when it thinks, thinking) and its context
    // length in model_info "<arch>.context_length" (opts.contextLength, default 131072).
    if (req.method === 'POST' && p === '/api/show') {
      const m = rec.body?.model ?? rec.body?.name;
      if (m !== model) return fake.sendJSON(res, rec, 404, { error: `model '${m}' not found` });
      return fake.sendJSON(res, rec, 200, {
        modelfile: '',
        parameters: '',
        template: '{{ .Prompt }}',
        details: { format: 'gguf', family: 'gemma4', parameter_size: '31B', quantization_level: 'Q4_K_M' },
        model_info: { 'general.architecture': 'gemma4', 'gemma4.context_length': opts.contextLength ?? 131072, 'gemma4.embedding_length': 5376 },
        capabilities: opts.capabilities ?? ['completion', 'vision', 'tools', ...(thinks ? ['thinking'] : [])],
      });
    }
    if (p === '/api/embed') return handleEmbed(req, res, rec, fake);
    if (p !== '/api/chat') return fake.sendJSON(res, rec, 404, { error: `404 page not found` });
    if (req.method !== 'POST') return fake.sendJSON(res, rec, 405, { error: 'method not allowed' });
    if (rec.parseError) return fake.sendJSON(res, rec, 400, { error: 'invalid character in request body' });
    const problem = validate(rec.body, thinks);
    if (problem) {
      rec.validation = problem;
      return fake.sendJSON(res, rec, 400, { error: problem });
    }
    rec.missingToolName = (rec.body.messages ?? []).some((m) => m.role === 'tool' && !m.tool_name);
    const a = await actionFor(fake, rec, lastUserText(rec.body));
    return respond(res, rec, fake, a);
  }

  // POST /api/embed: {model, input: string | string[], truncate?, dimensions?,
  // keep_alive?, options?} -> {model, embeddings:[[...]], total_duration,
  // load_duration, prompt_eval_count}. Vectors are embedVector(input,
  // dimensions ?? opts.embedDims ?? 8) (fake-openai.mjs). An absent or empty
  // input answers no embeddings (Ollama then only loads the model). Actions:
  // error ({"error": message}), hang, reset, garbage, ragged; `vectors`,
  // `usage: {prompt_eval_count}`, `model`, `delayMs` override.
  async function handleEmbed(req, res, rec, fake) {
    if (req.method !== 'POST') return fake.sendJSON(res, rec, 405, { error: 'method not allowed' });
    if (rec.parseError) return fake.sendJSON(res, rec, 400, { error: 'invalid character in request body' });
    const b = rec.body;
    const bad = (error) => {
      rec.validation = error;
      return fake.sendJSON(res, rec, 400, { error });
    };
    if (!b || typeof b !== 'object' || Array.isArray(b)) return bad('invalid request body');
    if (typeof b.model !== 'string' || !b.model) return bad('model is required');
    const inputs = b.input === undefined || b.input === '' ? [] : typeof b.input === 'string' ? [b.input] : b.input;
    if (!Array.isArray(inputs) || !inputs.every((t) => typeof t === 'string')) return bad(`invalid input type`);
    if (b.truncate !== undefined && typeof b.truncate !== 'boolean') return bad('json: cannot unmarshal into Go struct field EmbedRequest.truncate of type bool');
    if (b.dimensions !== undefined && !(Number.isInteger(b.dimensions) && b.dimensions > 0)) return bad('json: cannot unmarshal into Go struct field EmbedRequest.dimensions of type int');
    if (b.options !== undefined && (typeof b.options !== 'object' || Array.isArray(b.options))) return bad('options must be an object');
    rec.embedInputs = inputs;
    const a = await actionFor(fake, rec, inputs.join('\n'));
    const type = a.type ?? 'embeddings';
    if (a.firstByteDelayMs && !(await fake.wait(a.firstByteDelayMs, rec))) return;
    if (type === 'hang') return;
    if (type === 'error') return fake.sendJSON(res, rec, a.status ?? 500, { error: a.message ?? 'fake ollama error' }, a.headers ?? {});
    if (type === 'reset') return fake.resetSocket(res, rec);
    if (type === 'garbage') {
      rec.status = 200;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('<<this is not json>>');
      return fake.end(res, rec);
    }
    if (a.delayMs && !(await fake.wait(a.delayMs, rec))) return;
    const vectors = embedVectorsFor(a, inputs, b.dimensions ?? opts.embedDims ?? 8);
    const promptEval = a.usage?.prompt_eval_count ?? inputs.reduce((n, t) => n + embedTokens(t), 0);
    rec.vectors = vectors;
    return fake.sendJSON(res, rec, 200, {
      model: a.model ?? b.model,
      embeddings: vectors,
      total_duration: 14143917,
      load_duration: 1019500,
      prompt_eval_count: promptEval,
    });
  }

  async function respond(res, rec, fake, a) {
    const body = rec.body;
    const stream = body.stream !== false; // Ollama streams unless told not to
    const type = a.type ?? 'text';
    const echoModel = a.model ?? body.model;
    const created = () => new Date().toISOString();
    if (a.firstByteDelayMs && !(await fake.wait(a.firstByteDelayMs, rec))) return;
    if (type === 'hang') return;
    if (type === 'error') return fake.sendJSON(res, rec, a.status ?? 500, { error: a.message ?? 'fake ollama error' }, a.headers ?? {});
    if (type === 'garbage') {
      rec.status = 200;
      res.writeHead(200, { 'content-type': stream ? 'application/x-ndjson' : 'application/json' });
      res.write(stream ? '{"model":"x","message":{"role":\n' : '<<this is not json>>');
      return fake.end(res, rec);
    }
    // A thinking model thinks unless told not to (think absent = on).
    const thinkingOn = thinks && body.think !== false;
    const thinking = thinkingOn && a.thinking ? a.thinking : null;
    const content = type === 'tools' ? a.content ?? '' : a.content ?? `Hello from ${fake.name}.`;
    const calls =
      type === 'tools'
        ? (a.toolCalls ?? [{ name: 'get_weather', arguments: { city: 'Paris' } }]).map((c, i) => {
            const call = { function: { index: i, name: c.name, arguments: typeof c.arguments === 'string' ? JSON.parse(c.arguments) : c.arguments ?? {} } };
            if (c.id) call.id = c.id;
            return call;
          })
        : [];
    const counts = {
      prompt_eval_count: tokens(rec.rawBody),
      eval_count: tokens((thinking ?? '') + content + JSON.stringify(calls)),
      ...(a.usage ?? {}),
    };
    const final = {
      done: true,
      done_reason: a.finishReason ?? 'stop', // stays "stop" after tool calls
      total_duration: 1234567890,
      load_duration: 12345678,
      prompt_eval_count: counts.prompt_eval_count,
      prompt_eval_duration: 23456789,
      eval_count: counts.eval_count,
      eval_duration: 987654321,
    };
    rec.reply = { content, thinking, calls, final };

    if (!stream) {
      if (type === 'reset') return fake.resetSocket(res, rec);
      if (type === 'stream-error') return fake.sendJSON(res, rec, 500, { error: a.message ?? 'model runner has unexpectedly stopped' });
      if (a.delayMs && !(await fake.wait(a.delayMs, rec))) return;
      const message = { role: 'assistant', content };
      if (thinking) message.thinking = thinking;
      if (calls.length) message.tool_calls = calls;
      return fake.sendJSON(res, rec, 200, { model: echoModel, created_at: created(), message, ...final });
    }

    rec.status = 200;
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.flushHeaders();
    const delay = a.delayMs ?? 0;
    const line = async (message, extra = { done: false }) => {
      if (!(await fake.wait(delay, rec))) return false;
      return fake.write(res, rec, JSON.stringify({ model: echoModel, created_at: created(), message: { role: 'assistant', ...message }, ...extra }) + '\n');
    };
    if (thinking) for (const piece of splitInto(thinking, 3)) if (!(await line({ content: '', thinking: piece }))) return;
    const pieces = content ? splitInto(content, a.chunks ?? Math.min(16, content.split(' ').length)) : [];
    const stopAt = type === 'stream-error' || type === 'reset' ? Math.min(a.afterChunks ?? 1, pieces.length) : pieces.length;
    for (let i = 0; i < stopAt; i++) if (!(await line({ content: pieces[i] }))) return;
    if (type === 'reset') return fake.resetSocket(res, rec);
    if (type === 'stream-error') {
      fake.write(res, rec, JSON.stringify({ error: a.message ?? 'model runner has unexpectedly stopped' }) + '\n');
      return fake.end(res, rec);
    }
    if (calls.length && !(await line({ content: '', tool_calls: calls }))) return;
    if (!(await line({ content: '' }, final))) return;
    fake.end(res, rec);
  }

  const fake = await startFakeServer({ name: opts.name ?? 'ollama', model, port: opts.port, clearance: opts.clearance, script: opts.script, handle });
  fake.chatRequests = () => fake.requests.filter((r) => r.method === 'POST' && r.path === '/api/chat');
  fake.embedRequests = () => fake.requests.filter((r) => r.method === 'POST' && r.path === '/api/embed');
  return fake;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runStandalone('fake-ollama', startFakeOllama);
}
