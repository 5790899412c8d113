// A scriptable fake of Anthropic's Messages API (shared/reference/protocols.md
// §2): POST /v1/messages answered as one message object or as named SSE
// events (message_start, ping, content_block_start/delta/stop with
// thinking_delta, text_delta and input_json_delta whose first fragment is "",
// message_delta with cumulative usage, message_stop), Anthropic-shaped
// errors, and GET /v1/models.
//
// It validates requests the way the real API does (and a little stricter
// where seam promises more): x-api-key (when the fake has one) and
// anthropic-version headers, max_tokens present, only user/assistant roles
// that alternate, no empty text blocks, tool_use inputs that are objects,
// every tool_use answered by tool_result blocks at the start of the next user
// turn, input_schema of type object, a thinking budget >= 1024 and below
// max_tokens, base64 image sources without a data: prefix. A violation is a
// 400 invalid_request_error, as upstream.
//
// Library use:
//   import { startFakeAnthropic } from '../upstreams/fake-anthropic.mjs';
//   const up = await startFakeAnthropic({ name: 'claude', model: 'claude-sonnet-4-5', apiKey: 'k' });
//   up.url, up.requests, up.setScript(fn | obj | null), up.find(marker), await up.close();
// Standalone: node tests/upstreams/fake-anthropic.mjs [--port N] [--model M] [--api-key K]
//
// Actions (see fake-common.mjs for the common ones):
//   text:  { content, chunks, delayMs, thinking, finishReason (a stop_reason), usage, model }
//          `thinking` is sent (thinking block with signature) only when the
//          request enabled thinking, as Anthropic does.
//   tools: { toolCalls: [{ id, name, arguments (object or JSON string) }], fragments, content, thinking }
//   usage: { input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens }
//   error: { status, message, errType, headers }   errType default from the status
//   stream-error: { afterChunks, message, errType } an `event: error` after the deltas

import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startFakeServer, actionFor, splitInto, tokens, runStandalone } from './fake-common.mjs';

const ERR_TYPES = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};
const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

export function errorBody(status, message, errType) {
  return { type: 'error', error: { type: errType ?? ERR_TYPES[status] ?? 'api_error', message: message ?? `Error ${status} (fake anthropic).` } };
}

function lastUserText(body) {
  const msgs = Array.isArray(body?.messages) ? body.messages : [];
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m = msgs[i];
    if (m?.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (Array.isArray(m.content)) return m.content.filter((b) => b?.type === 'text').map((b) => b.text).join('\n');
  }
  return '';
}

/** The first rule of the Messages API that <b> breaks, or null. */
export function validate(b) {
  if (!b || typeof b !== 'object' || Array.isArray(b)) return 'body must be a JSON object';
  if (typeof b.model !== 'string' || !b.model) return 'model: Field required';
  if (!Number.isInteger(b.max_tokens)) return 'max_tokens: Field required';
  if (b.max_tokens < 1) return 'max_tokens: must be at least 1';
  if (b.system !== undefined) {
    const ok = typeof b.system === 'string' || (Array.isArray(b.system) && b.system.every((x) => x?.type === 'text' && typeof x.text === 'string' && x.text.length > 0));
    if (!ok) return 'system: must be a string or a list of non-empty text blocks';
  }
  if (!Array.isArray(b.messages) || b.messages.length === 0) return 'messages: at least one message is required';
  let prev = null;
  for (const [i, m] of b.messages.entries()) {
    if (m?.role !== 'user' && m?.role !== 'assistant') return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    if (m.role === prev) return `messages.${i}: roles must alternate between "user" and "assistant"`;
    prev = m.role;
    const blocks = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
    if (!Array.isArray(blocks) || blocks.length === 0) return `messages.${i}.content: must be a string or a non-empty list`;
    for (const [j, blk] of blocks.entries()) {
      const where = `messages.${i}.content.${j}`;
      switch (blk?.type) {
        case 'text':
          if (typeof blk.text !== 'string' || blk.text.length === 0) return `${where}: text content blocks must be non-empty`;
          break;
        case 'image': {
          const s = blk.source;
          if (s?.type === 'base64') {
            if (!IMAGE_TYPES.has(s.media_type)) return `${where}.source.media_type: unsupported image type ${s.media_type}`;
            if (typeof s.data !== 'string' || s.data.startsWith('data:') || !/^[A-Za-z0-9+/=]*$/.test(s.data)) return `${where}.source.data: invalid base64 data`;
          } else if (s?.type === 'url') {
            if (typeof s.url !== 'string' || !/^https?:\/\//.test(s.url)) return `${where}.source.url: invalid URL`;
          } else return `${where}.source: unknown source type`;
          if (m.role !== 'user') return `${where}: images are only allowed in user turns`;
          break;
        }
        case 'tool_use':
          if (m.role !== 'assistant') return `${where}: tool_use blocks are only allowed in assistant turns`;
          if (typeof blk.id !== 'string' || !/^[a-zA-Z0-9_-]+$/.test(blk.id)) return `${where}.id: String should match pattern '^[a-zA-Z0-9_-]+$'`;
          if (typeof blk.name !== 'string' || !blk.name) return `${where}.name: Field required`;
          if (!blk.input || typeof blk.input !== 'object' || Array.isArray(blk.input)) return `${where}.input: Input should be a valid dictionary`;
          break;
        case 'tool_result':
          if (m.role !== 'user') return `${where}: tool_result blocks are only allowed in user turns`;
          if (typeof blk.tool_use_id !== 'string') return `${where}.tool_use_id: Field required`;
          break;
        case 'thinking':
        case 'redacted_thinking':
          break;
        default:
          return `${where}.type: unknown content block type ${JSON.stringify(blk?.type)}`;
      }
    }
    // Every tool_use must be answered at the start of the next user turn.
    const uses = blocks.filter((x) => x.type === 'tool_use').map((x) => x.id);
    if (uses.length) {
      const next = b.messages[i + 1];
      if (!next) continue; // a trailing tool_use is the model's own turn
      const nb = typeof next.content === 'string' ? [] : next.content ?? [];
      const lead = [];
      for (const x of nb) {
        if (x?.type !== 'tool_result') break;
        lead.push(x.tool_use_id);
      }
      const missing = uses.filter((id) => !lead.includes(id));
      if (missing.length)
        return `messages.${i + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
    }
  }
  if (b.tools !== undefined) {
    if (!Array.isArray(b.tools)) return 'tools: must be a list';
    for (const [i, t] of b.tools.entries()) {
      if (typeof t?.name !== 'string' || !t.name) return `tools.${i}.name: Field required`;
      if (t.input_schema?.type !== 'object') return `tools.${i}.input_schema.type: Input should be 'object'`;
    }
  }
  if (b.tool_choice !== undefined) {
    if (!['auto', 'any', 'tool', 'none'].includes(b.tool_choice?.type)) return 'tool_choice.type: invalid';
    if (!b.tools) return 'tool_choice may only be specified while providing tools';
  }
  if (b.thinking !== undefined) {
    const t = b.thinking;
    if (t?.type === 'enabled') {
      if (!Number.isInteger(t.budget_tokens) || t.budget_tokens < 1024) return 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024';
      if (t.budget_tokens >= b.max_tokens) return '`max_tokens` must be greater than `thinking.budget_tokens`';
    } else if (t?.type !== 'disabled' && t?.type !== 'adaptive') return 'thinking.type: invalid';
  }
  if (b.stop_sequences !== undefined && !(Array.isArray(b.stop_sequences) && b.stop_sequences.every((s) => typeof s === 'string'))) return 'stop_sequences: must be a list of strings';
  if (b.stream !== undefined && typeof b.stream !== 'boolean') return 'stream: must be a boolean';
  return null;
}

function sse(event, data) {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export async function startFakeAnthropic(opts = {}) {
  const model = opts.model ?? 'claude-sonnet-4-5';
  const apiKey = opts.apiKey ?? null;

  async function handle(req, res, rec, fake) {
    const p = rec.path;
    const headers = { 'request-id': `req_fake_${rec.id}` };
    if (apiKey !== null && rec.headers['x-api-key'] !== apiKey) return fake.sendJSON(res, rec, 401, errorBody(401, 'invalid x-api-key'), headers);
    if (!rec.headers['anthropic-version']) return fake.sendJSON(res, rec, 400, errorBody(400, 'anthropic-version: header is required'), headers);
    if (req.method === 'GET' && p === '/v1/models') {
      return fake.sendJSON(res, rec, 200, {
        data: [{ type: 'model', id: model, display_name: model, created_at: '2025-09-29T00:00:00Z' }],
        has_more: false,
        first_id: model,
        last_id: model,
      });
    }
    if (p !== '/v1/messages') return fake.sendJSON(res, rec, 404, errorBody(404, `Not found: ${req.method} ${p}`), headers);
    if (req.method !== 'POST') return fake.sendJSON(res, rec, 405, errorBody(405, 'Method not allowed', 'invalid_request_error'), headers);
    if (rec.parseError) return fake.sendJSON(res, rec, 400, errorBody(400, 'There was an issue with the format of your request: invalid JSON'), headers);
    const problem = validate(rec.body);
    if (problem) {
      rec.validation = problem;
      return fake.sendJSON(res, rec, 400, errorBody(400, problem), headers);
    }
    const a = await actionFor(fake, rec, lastUserText(rec.body));
    return respond(res, rec, fake, a, headers);
  }

  async function respond(res, rec, fake, a, headers) {
    const body = rec.body;
    const stream = body.stream === true;
    const type = a.type ?? 'text';
    const id = `msg_fake${crypto.randomBytes(8).toString('hex')}`;
    const echoModel = a.model ?? body.model;
    if (a.firstByteDelayMs && !(await fake.wait(a.firstByteDelayMs, rec))) return;
    if (type === 'hang') return;
    if (type === 'error') {
      const status = a.status ?? 500;
      return fake.sendJSON(res, rec, status, errorBody(status, a.message, a.errType), { ...headers, ...(a.headers ?? {}) });
    }
    if (type === 'garbage') {
      rec.status = 200;
      if (stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('event: message_start\ndata: {"type":"message_start","message":{"id":\n\n');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('<<this is not json>>');
      }
      return fake.end(res, rec);
    }

    const thinkingOn = body.thinking?.type === 'enabled';
    const thinking = thinkingOn && a.thinking ? a.thinking : null;
    const content = type === 'tools' ? a.content ?? null : a.content ?? `Hello from ${fake.name}.`;
    const calls =
      type === 'tools'
        ? (a.toolCalls ?? [{ name: 'get_weather', arguments: { city: 'Paris' } }]).map((c, i) => ({
            id: c.id ?? `toolu_fake${i}${crypto.randomBytes(5).toString('hex')}`,
            name: c.name,
            input: typeof c.arguments === 'string' ? JSON.parse(c.arguments) : c.arguments ?? {},
            json: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments ?? {}),
          }))
        : [];
    const stopReason = a.finishReason ?? (calls.length ? 'tool_use' : 'end_turn');
    const usage = {
      input_tokens: tokens(rec.rawBody),
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: tokens((thinking ?? '') + (content ?? '') + calls.map((c) => c.json).join('')),
      ...(a.usage ?? {}),
    };
    rec.reply = { content, thinking, calls, stopReason, usage };

    if (!stream) {
      if (type === 'reset') return fake.resetSocket(res, rec);
      if (type === 'stream-error') return fake.sendJSON(res, rec, 529, errorBody(529, a.message ?? 'Overloaded'), headers);
      if (a.delayMs && !(await fake.wait(a.delayMs, rec))) return;
      const blocks = [];
      if (thinking) blocks.push({ type: 'thinking', thinking, signature: 'ZmFrZS1zaWduYXR1cmU=' });
      if (content) blocks.push({ type: 'text', text: content });
      for (const c of calls) blocks.push({ type: 'tool_use', id: c.id, name: c.name, input: c.input });
      return fake.sendJSON(
        res,
        rec,
        200,
        { id, type: 'message', role: 'assistant', model: echoModel, content: blocks, stop_reason: stopReason, stop_sequence: null, usage },
        headers,
      );
    }

    rec.status = 200;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers });
    res.flushHeaders();
    const delay = a.delayMs ?? 0;
    const send = async (event, data) => {
      if (!(await fake.wait(delay, rec))) return false;
      return fake.write(res, rec, sse(event, data));
    };
    const start = { ...usage, output_tokens: 1 };
    if (!(await send('message_start', { type: 'message_start', message: { id, type: 'message', role: 'assistant', model: echoModel, content: [], stop_reason: null, stop_sequence: null, usage: start } }))) return;
    if (!(await send('ping', { type: 'ping' }))) return;
    let index = 0;
    if (thinking) {
      if (!(await send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } }))) return;
      for (const piece of splitInto(thinking, 3))
        if (!(await send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: piece } }))) return;
      if (!(await send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: 'ZmFrZS1zaWduYXR1cmU=' } }))) return;
      if (!(await send('content_block_stop', { type: 'content_block_stop', index }))) return;
      index++;
    }
    if (content || type === 'stream-error' || type === 'reset') {
      const pieces = splitInto(content ?? 'partial answer', a.chunks ?? Math.min(16, (content ?? '').split(' ').length));
      if (!(await send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }))) return;
      const stopAt = type === 'stream-error' || type === 'reset' ? Math.min(a.afterChunks ?? 1, pieces.length) : pieces.length;
      for (let i = 0; i < stopAt; i++) {
        if (!(await send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: pieces[i] } }))) return;
        if (i === 1 && !(await send('ping', { type: 'ping' }))) return;
      }
      if (type === 'reset') return fake.resetSocket(res, rec);
      if (type === 'stream-error') {
        fake.write(res, rec, sse('error', errorBody(529, a.message ?? 'Overloaded', a.errType ?? 'overloaded_error')));
        return fake.end(res, rec);
      }
      if (!(await send('content_block_stop', { type: 'content_block_stop', index }))) return;
      index++;
    }
    for (const c of calls) {
      if (!(await send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: c.id, name: c.name, input: {} } }))) return;
      // The first partial_json is "", as the real API sends it.
      for (const piece of ['', ...splitInto(c.json, a.fragments ?? 4)])
        if (!(await send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: piece } }))) return;
      if (!(await send('content_block_stop', { type: 'content_block_stop', index }))) return;
      index++;
    }
    // Cumulative usage: the whole output count, not an increment.
    if (!(await send('message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }))) return;
    if (!(await send('message_stop', { type: 'message_stop' }))) return;
    fake.end(res, rec);
  }

  const fake = await startFakeServer({ name: opts.name ?? 'anthropic', model, port: opts.port, clearance: opts.clearance, script: opts.script, handle });
  fake.messageRequests = () => fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/messages');
  return fake;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runStandalone('fake-anthropic', startFakeAnthropic);
}
