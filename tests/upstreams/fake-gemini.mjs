// A scriptable fake of the Gemini API (shared/reference/protocols.md §4):
// POST /v1beta/models/{model}:generateContent (one GenerateContentResponse)
// and :streamGenerateContent?alt=sse (one response per SSE event, frames
// ended with CRLF, usageMetadata repeated on every event, NO terminator: the
// stream ends when the connection closes), Google-shaped errors
// {"error":{"code","message","status"}}, GET /v1beta/models, and
// POST /v1beta/models/{model}:batchEmbedContents (see handleBatchEmbed).
//
// It validates what the API rejects: the x-goog-api-key header (when the
// fake has a key), roles other than user/model, empty parts, functionCall
// args and functionResponse.response that are not objects, a functionResponse
// without a name, inlineData without mimeType or with a data: prefix.
// Thought parts are sent only when thinkingConfig.includeThoughts is true.
//
// Library use:
//   import { startFakeGemini } from '../upstreams/fake-gemini.mjs';
//   const up = await startFakeGemini({ name: 'gemini', model: 'gemini-2.5-flash', apiKey: 'k' });
// Standalone: node tests/upstreams/fake-gemini.mjs [--port N] [--model M] [--api-key K]
//
// Actions (see fake-common.mjs for the common ones):
//   text:  { content, chunks, delayMs, thinking, finishReason (e.g. MAX_TOKENS, SAFETY), usage, model }
//   tools: { toolCalls: [{ name, arguments, id }], content, thinking }   calls whole, no ids unless given
//   usage: { promptTokenCount, candidatesTokenCount, thoughtsTokenCount }
//   error: { status, message, errStatus }
//   stream-error: { afterChunks, message }   then data: {"error":{...}} and the end

import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startFakeServer, actionFor, splitInto, tokens, runStandalone } from './fake-common.mjs';
import { embedVectorsFor } from './fake-openai.mjs';

const STATUS = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED' };

export function errorBody(code, message, status) {
  return { error: { code, message: message ?? `Error ${code} (fake gemini).`, status: status ?? STATUS[code] ?? 'UNKNOWN' } };
}

function lastUserText(body) {
  const cs = Array.isArray(body?.contents) ? body.contents : [];
  for (let i = cs.length - 1; i >= 0; i--) {
    if (cs[i]?.role !== 'user') continue;
    const t = (cs[i].parts ?? []).filter((p) => typeof p?.text === 'string').map((p) => p.text);
    if (t.length) return t.join('\n');
  }
  return '';
}

const isObj = (v) => v && typeof v === 'object' && !Array.isArray(v);

/** What the Gemini API would reject in <b>, or null. */
export function validate(b) {
  if (!isObj(b)) return 'Invalid JSON payload received.';
  if (!Array.isArray(b.contents) || b.contents.length === 0) return '* GenerateContentRequest.contents: contents is not specified';
  for (const [i, c] of b.contents.entries()) {
    if (c?.role !== 'user' && c?.role !== 'model') return `* GenerateContentRequest.contents[${i}].role: Please use a valid role: user, model.`;
    if (!Array.isArray(c.parts) || c.parts.length === 0) return `* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.`;
    for (const [j, p] of c.parts.entries()) {
      const where = `contents[${i}].parts[${j}]`;
      if (p.inlineData) {
        if (typeof p.inlineData.mimeType !== 'string' || !p.inlineData.mimeType) return `* ${where}.inline_data.mime_type: required`;
        if (typeof p.inlineData.data !== 'string' || p.inlineData.data.startsWith('data:') || !/^[A-Za-z0-9+/=]*$/.test(p.inlineData.data)) return `Invalid value at '${where}.inline_data.data' (TYPE_BYTES), Base64 decoding failed`;
      } else if (p.functionCall) {
        if (typeof p.functionCall.name !== 'string') return `* ${where}.function_call.name: required`;
        if (p.functionCall.args !== undefined && !isObj(p.functionCall.args)) return `Invalid value at '${where}.function_call.args' (type.googleapis.com/google.protobuf.Struct)`;
        if (c.role !== 'model') return `* ${where}: function calls are model turns`;
      } else if (p.functionResponse) {
        if (typeof p.functionResponse.name !== 'string' || !p.functionResponse.name) return `* ${where}.function_response.name: Name cannot be empty.`;
        if (!isObj(p.functionResponse.response)) return `Invalid value at '${where}.function_response.response' (type.googleapis.com/google.protobuf.Struct)`;
      } else if (typeof p.text !== 'string') return `* ${where}: unknown part`;
    }
  }
  if (b.systemInstruction !== undefined && !Array.isArray(b.systemInstruction?.parts)) return '* systemInstruction.parts: required';
  for (const t of b.tools ?? []) for (const d of t.functionDeclarations ?? []) if (typeof d.name !== 'string') return '* tools.function_declarations.name: required';
  const mode = b.toolConfig?.functionCallingConfig?.mode;
  if (mode !== undefined && !['AUTO', 'ANY', 'NONE', 'VALIDATED'].includes(mode)) return `Invalid value at 'tool_config.function_calling_config.mode'`;
  const tc = b.generationConfig?.thinkingConfig;
  if (tc && tc.thinkingBudget !== undefined && tc.thinkingLevel !== undefined) return 'thinking_budget and thinking_level cannot both be set';
  return null;
}

export async function startFakeGemini(opts = {}) {
  const model = opts.model ?? 'gemini-2.5-flash';
  const apiKey = opts.apiKey ?? null;

  async function handle(req, res, rec, fake) {
    const p = rec.path;
    if (apiKey !== null && rec.headers['x-goog-api-key'] !== apiKey) return fake.sendJSON(res, rec, 400, errorBody(400, 'API key not valid. Please pass a valid API key.'));
    if (req.method === 'GET' && p === '/v1beta/models') {
      return fake.sendJSON(res, rec, 200, { models: [{ name: `models/${model}`, displayName: model, supportedGenerationMethods: ['generateContent', 'streamGenerateContent'] }] });
    }
    const em = /^\/v1beta\/models\/([^/:]+):batchEmbedContents$/.exec(p);
    if (em) return handleBatchEmbed(req, res, rec, fake, decodeURIComponent(em[1]));
    const m = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/.exec(p);
    if (!m) return fake.sendJSON(res, rec, 404, errorBody(404, `Not found: ${req.method} ${p}`));
    if (req.method !== 'POST') return fake.sendJSON(res, rec, 405, errorBody(400, 'Method not allowed'));
    rec.model = decodeURIComponent(m[1]);
    rec.stream = m[2] === 'streamGenerateContent';
    if (rec.stream && rec.query.get('alt') !== 'sse') return fake.sendJSON(res, rec, 400, errorBody(400, 'this fake only streams with alt=sse'));
    if (rec.parseError) return fake.sendJSON(res, rec, 400, errorBody(400, 'Invalid JSON payload received.'));
    const problem = validate(rec.body);
    if (problem) {
      rec.validation = problem;
      return fake.sendJSON(res, rec, 400, errorBody(400, problem));
    }
    const a = await actionFor(fake, rec, lastUserText(rec.body));
    return respond(res, rec, fake, a);
  }

  // POST /v1beta/models/{model}:batchEmbedContents: {requests:[{model:
  // "models/{model}", content:{parts:[{text}]}, outputDimensionality?,
  // taskType?}]} (at most 100; each request's model must be the URL's) ->
  // {embeddings:[{values:[...]}]}: no token counts, as the API. Vectors are
  // embedVector(text, outputDimensionality ?? opts.embedDims ?? 8)
  // (fake-openai.mjs). Actions: error (Google's shape), hang, reset,
  // garbage, ragged; `vectors`, `delayMs` override.
  async function handleBatchEmbed(req, res, rec, fake, urlModel) {
    if (req.method !== 'POST') return fake.sendJSON(res, rec, 405, errorBody(400, 'Method not allowed'));
    rec.model = urlModel;
    const bad = (message) => {
      rec.validation = message;
      return fake.sendJSON(res, rec, 400, errorBody(400, message));
    };
    if (rec.parseError || !isObj(rec.body)) return bad('Invalid JSON payload received.');
    const reqs = rec.body.requests;
    if (!Array.isArray(reqs) || reqs.length === 0) return bad('* BatchEmbedContentsRequest.requests: requests is not specified');
    if (reqs.length > 100) return bad('* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch');
    const inputs = [];
    const dims = [];
    for (const [i, r] of reqs.entries()) {
      if (r?.model !== `models/${urlModel}`) return bad(`Model name in requests[${i}] (${r?.model}) does not match the model in the URL (models/${urlModel}).`);
      const parts = r.content?.parts;
      if (!Array.isArray(parts) || parts.length === 0 || !parts.every((x) => typeof x?.text === 'string')) return bad(`* BatchEmbedContentsRequest.requests[${i}].content.parts: text parts required`);
      if (r.outputDimensionality !== undefined && !(Number.isInteger(r.outputDimensionality) && r.outputDimensionality > 0)) return bad(`Invalid value at 'requests[${i}].output_dimensionality' (TYPE_INT32)`);
      inputs.push(parts.map((x) => x.text).join(''));
      dims.push(r.outputDimensionality ?? opts.embedDims ?? 8);
    }
    rec.embedInputs = inputs;
    const a = await actionFor(fake, rec, inputs.join('\n'));
    const type = a.type ?? 'embeddings';
    if (a.firstByteDelayMs && !(await fake.wait(a.firstByteDelayMs, rec))) return;
    if (type === 'hang') return;
    if (type === 'error') {
      const status = a.status ?? 500;
      return fake.sendJSON(res, rec, status, errorBody(status, a.message, a.errStatus), a.headers ?? {});
    }
    if (type === 'reset') return fake.resetSocket(res, rec);
    if (type === 'garbage') {
      rec.status = 200;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('<<this is not json>>');
      return fake.end(res, rec);
    }
    if (a.delayMs && !(await fake.wait(a.delayMs, rec))) return;
    const vectors = Array.isArray(a.vectors) ? a.vectors : embedVectorsFor(a, inputs, dims[0]);
    rec.vectors = vectors;
    return fake.sendJSON(res, rec, 200, { embeddings: vectors.map((values) => ({ values })) });
  }

  async function respond(res, rec, fake, a) {
    const body = rec.body;
    const stream = rec.stream;
    const type = a.type ?? 'text';
    const responseId = `fake${crypto.randomBytes(6).toString('hex')}`;
    const modelVersion = a.model ?? rec.model;
    if (a.firstByteDelayMs && !(await fake.wait(a.firstByteDelayMs, rec))) return;
    if (type === 'hang') return;
    if (type === 'error') {
      const status = a.status ?? 500;
      return fake.sendJSON(res, rec, status, errorBody(status, a.message, a.errStatus), a.headers ?? {});
    }
    if (type === 'garbage') {
      rec.status = 200;
      res.writeHead(200, { 'content-type': stream ? 'text/event-stream' : 'application/json' });
      res.write(stream ? 'data: {"candidates": [\r\n\r\n' : '<<this is not json>>');
      return fake.end(res, rec);
    }
    const thinking = body.generationConfig?.thinkingConfig?.includeThoughts === true && a.thinking ? a.thinking : null;
    const content = type === 'tools' ? a.content ?? '' : a.content ?? `Hello from ${fake.name}.`;
    const calls =
      type === 'tools'
        ? (a.toolCalls ?? [{ name: 'get_weather', arguments: { city: 'Paris' } }]).map((c) => {
            const fc = { name: c.name, args: typeof c.arguments === 'string' ? JSON.parse(c.arguments) : c.arguments ?? {} };
            if (c.id) fc.id = c.id;
            return { functionCall: fc, thoughtSignature: 'ZmFrZS1zaWc=' };
          })
        : [];
    const finishReason = a.finishReason ?? 'STOP'; // no tool-call reason: a call ends with STOP
    const usage = {
      promptTokenCount: tokens(rec.rawBody),
      candidatesTokenCount: tokens(content + JSON.stringify(calls)),
      ...(thinking ? { thoughtsTokenCount: tokens(thinking) } : {}),
      ...(a.usage ?? {}),
    };
    usage.totalTokenCount = usage.promptTokenCount + usage.candidatesTokenCount + (usage.thoughtsTokenCount ?? 0);
    rec.reply = { content, thinking, calls, finishReason, usage };

    if (!stream) {
      if (type === 'reset') return fake.resetSocket(res, rec);
      if (type === 'stream-error') return fake.sendJSON(res, rec, 503, errorBody(503, a.message ?? 'The model is overloaded.'));
      if (a.delayMs && !(await fake.wait(a.delayMs, rec))) return;
      const parts = [];
      if (thinking) parts.push({ text: thinking, thought: true });
      if (content) parts.push({ text: content });
      parts.push(...calls);
      return fake.sendJSON(res, rec, 200, { candidates: [{ content: { role: 'model', parts }, finishReason, index: 0 }], usageMetadata: usage, modelVersion, responseId });
    }

    rec.status = 200;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    const delay = a.delayMs ?? 0;
    // usageMetadata on every event, growing; the last one counts.
    let sentCandidates = 0;
    const event = async (parts, last) => {
      if (!(await fake.wait(delay, rec))) return false;
      sentCandidates = last ? usage.candidatesTokenCount : Math.min(usage.candidatesTokenCount, sentCandidates + 1);
      const u = last ? usage : { promptTokenCount: usage.promptTokenCount, candidatesTokenCount: sentCandidates, totalTokenCount: usage.promptTokenCount + sentCandidates };
      const cand = { content: { role: 'model', parts }, index: 0 };
      if (last) cand.finishReason = finishReason;
      return fake.write(res, rec, `data: ${JSON.stringify({ candidates: [cand], usageMetadata: u, modelVersion, responseId })}\r\n\r\n`);
    };
    if (thinking) for (const piece of splitInto(thinking, 2)) if (!(await event([{ text: piece, thought: true }], false))) return;
    const pieces = content ? splitInto(content, a.chunks ?? Math.min(16, content.split(' ').length)) : [];
    if (type === 'stream-error' || type === 'reset') {
      const stopAt = Math.min(a.afterChunks ?? 1, pieces.length);
      for (let i = 0; i < stopAt; i++) if (!(await event([{ text: pieces[i] }], false))) return;
      if (type === 'reset') return fake.resetSocket(res, rec);
      fake.write(res, rec, `data: ${JSON.stringify(errorBody(503, a.message ?? 'The model is overloaded.'))}\r\n\r\n`);
      return fake.end(res, rec);
    }
    // The last event carries the function calls (whole) and the finishReason.
    for (let i = 0; i < pieces.length; i++) {
      const last = i === pieces.length - 1 && calls.length === 0;
      if (!(await event([{ text: pieces[i] }], last))) return;
    }
    if (calls.length && !(await event(calls, true))) return;
    if (!pieces.length && !calls.length && !(await event([{ text: '' }], true))) return;
    fake.end(res, rec); // no [DONE]: the stream just ends
  }

  const fake = await startFakeServer({ name: opts.name ?? 'gemini', model, port: opts.port, clearance: opts.clearance, script: opts.script, handle });
  fake.generateRequests = () => fake.requests.filter((r) => r.method === 'POST' && /:(stream)?[gG]enerateContent$/.test(r.path));
  fake.embedRequests = () => fake.requests.filter((r) => r.method === 'POST' && /:batchEmbedContents$/.test(r.path));
  return fake;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runStandalone('fake-gemini', startFakeGemini);
}
