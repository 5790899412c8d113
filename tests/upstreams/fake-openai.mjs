// A scriptable fake of OpenAI's Chat Completions API, speaking its wire format
// (see shared/reference/protocols.md §1): non-stream JSON, streaming SSE with
// the role chunk, content or tool-call deltas, the finish chunk, the optional
// usage chunk and `data: [DONE]`, OpenAI-shaped errors, and GET /v1/models.
//
// It records every request it receives and answers each one per a script, so
// tests can inject faults: HTTP errors, hangs, connection resets mid-stream,
// garbage bodies, malformed SSE, slow streams.
//
// Library use:
//   import { startFakeOpenAI } from '../upstreams/fake-openai.mjs';
//   const up = await startFakeOpenAI({ name: 'local', model: 'gemma4:31b' });
//   up.url            // http://127.0.0.1:PORT  (a base URL: seam appends /v1/...)
//   up.requests       // [{ id, method, path, headers, rawBody, body, ... }]
//   up.setScript(fn | obj | null)   // fn(req) -> action; obj = action for every request
//   await up.close();
//
// Standalone (manual testing, benchmarks):
//   node tests/upstreams/fake-openai.mjs --port 9001 --name local --model gemma4:31b \
//        [--chunks 8] [--delay 0] [--content "text"] [--quiet]
// prints `fake-openai <name> listening on http://127.0.0.1:9001`, and serves
// until SIGINT/SIGTERM. Control over HTTP: POST /__fake/script (JSON action or
// null), GET /__fake/requests, POST /__fake/reset.
//
// Embeddings: POST /v1/embeddings answers deterministic vectors
// (embedVector below; dimension `dimensions` from the request, else
// opts.embedDims, else 8), as float arrays or base64 float32 per
// encoding_format; see handleEmbeddings for its actions.
//
// Actions (what a script returns; every field optional unless noted):
//   { type: 'text', content, chunks, delayMs, firstByteDelayMs, finishReason,
//     usage, headers, model, hangAfterChunks, thinking }
//       A normal reply. Streamed as `chunks` content deltas (default: one per
//       word, capped at 16) with `delayMs` between chunks. `hangAfterChunks: N`
//       sends N content deltas then stalls forever (no finish, no [DONE]).
//       `thinking` is returned as `reasoning_content` (message field, or three
//       deltas before the content), as vLLM/llama.cpp/DeepSeek do, unless the
//       request said reasoning_effort "none" (a reasoning model reasons unless
//       told not to).
//   { type: 'tools', toolCalls: [{ id, name, arguments }], fragments, delayMs, content }
//       A tool-call reply; each call's `arguments` (a string, or an object that
//       is JSON-encoded) is streamed in `fragments` pieces by index.
//   { type: 'error', status, message, errType, code, param, headers }
//       An HTTP error with OpenAI's error body. e.g. { type:'error', status:429,
//       headers:{ 'retry-after': '2' } }.
//   { type: 'hang' }                    never answers (the socket stays open)
//   { type: 'reset', afterChunks }      streams afterChunks content deltas (after
//                                       the role chunk), then destroys the socket;
//                                       non-stream: sends part of the body first
//                                       when afterChunks > 0, else resets at once.
//   { type: 'garbage', mode }           mode 'json' (default for non-stream): 200
//                                       application/json with a non-JSON body;
//                                       mode 'sse' (default for stream): a role
//                                       chunk, `afterChunks` content deltas of
//                                       `content`, then a malformed `data:` line, then
//                                       the stream ends; mode 'sse-first': the
//                                       malformed line with no chunk before it;
//                                       mode 'html': a 200 text/html page.
//   { type: 'stream-error', afterChunks, message, errType, code }
//                                       streams afterChunks content deltas, then an
//                                       OpenAI mid-stream error event
//                                       `data: {"error":{...}}` and ends.
//   { type: 'drop' }                    destroys the socket before any byte of the
//                                       response (a reset before the headers).
//   { type: 'slow', content, chunks, bytesPerWrite, byteDelayMs }
//                                       a well-formed answer (JSON or SSE) written
//                                       bytesPerWrite (1) bytes every byteDelayMs (10).
//   { type: 'overlong', extraBytes }    a valid JSON answer with its exact
//                                       Content-Length, then extraBytes (8 MiB) of
//                                       junk on the same connection, then a close.
//   { type: 'short', missingBytes, then }  Content-Length missingBytes (4096) more
//                                       than the JSON sent; then 'close' (default)
//                                       or 'hang' (the socket stays open).
//   { type: 'huge', bytes, mode }       mode 'json' (non-stream default): a chunked
//                                       JSON answer with `bytes` (32 MiB) of content;
//                                       'sse-line' (stream default): a role chunk,
//                                       then one `data:` line of `bytes` bytes that
//                                       never ends, then a close.
//   { type: 'flood', chunkBytes, chunks }  a stream of `chunks` (4096) content
//                                       deltas of `chunkBytes` (16384) letters, as
//                                       fast as the reader takes them (it waits for
//                                       'drain'); rec.bytesSent says how far it got.
//   A 'text' action may stall mid-stream and go on: `stallAfterChunks: K,
//   stallMs: N` waits N ms before content delta K (0-based) is sent.
// fake.attempts(marker) counts the chat requests carrying <marker> (how many
// times seam tried this upstream for one client request).
//
// Default script (no setScript): a text reply. Directives inside the last user
// message change it: `[reply:TEXT]` sets the content (up to the next `]`),
// `[chunks:N]` the number of chunks, `[delay:MS]` the delay between chunks.
// Without [reply:], the content is `Hello from <name>.`.
//
// The invariant check: with `clearance: 'public'` (use it for every fake that
// stands for a cloud backend), each POST is scanned for sensitivity tags
// `[sens:LEVEL]` that tests put in their message text. A tag other than
// `[sens:public]`, or a POST body with no tag at all, is recorded in
// `violations`. Tests assert `violations.length === 0`.

import http from 'node:http';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const SENS_ORDER = { public: 0, internal: 1, regulated: 2 };

function nowSec() {
  return Math.floor(Date.now() / 1000);
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Concatenated text of every message's content (strings and text parts). */
export function messagesText(body) {
  if (!body || !Array.isArray(body.messages)) return '';
  const out = [];
  for (const m of body.messages) {
    if (!m) continue;
    if (typeof m.content === 'string') out.push(m.content);
    else if (Array.isArray(m.content)) {
      for (const p of m.content) if (p && typeof p.text === 'string') out.push(p.text);
    }
  }
  return out.join('\n');
}

function lastUserText(body) {
  if (!body || !Array.isArray(body.messages)) return '';
  for (let i = body.messages.length - 1; i >= 0; i--) {
    const m = body.messages[i];
    if (m && m.role === 'user') return messagesText({ messages: [m] });
  }
  return '';
}

/** Splits <s> into <n> non-empty pieces (fewer when s is shorter than n). */
export function splitInto(s, n) {
  const chars = Array.from(s); // do not split surrogate pairs
  n = Math.max(1, Math.min(n, chars.length || 1));
  const pieces = [];
  const size = Math.ceil(chars.length / n) || 1;
  for (let i = 0; i < chars.length; i += size) pieces.push(chars.slice(i, i + size).join(''));
  if (pieces.length === 0) pieces.push('');
  return pieces;
}

function defaultChunks(content) {
  const words = content.split(/(?<= )/); // keep spaces attached
  return Math.max(1, Math.min(words.length, 16));
}

/** The default script: honours [reply:..], [chunks:N], [delay:MS] directives. */
export function defaultScript(req, fake) {
  const text = lastUserText(req.body);
  const reply = /\[reply:([^\]]*)\]/.exec(text);
  const chunks = /\[chunks:(\d+)\]/.exec(text);
  const delay = /\[delay:(\d+)\]/.exec(text);
  const content = reply ? reply[1] : `Hello from ${fake.name}.`;
  return {
    type: 'text',
    content,
    chunks: chunks ? Number(chunks[1]) : undefined,
    delayMs: delay ? Number(delay[1]) : 0,
  };
}

// ------------------------------------------------------------- embeddings
// Deterministic vectors shared by every fake's embeddings route (OpenAI
// /v1/embeddings, Ollama /api/embed, Gemini :batchEmbedContents) and by the
// tests that check them: each value is n/32768 for a 16-bit n taken from
// SHA-256 of the text, so it is exact in float32 and survives any gateway
// that carries vectors as float32 (compare with Math.fround).

/** The fake's embedding of <text>: <dims> numbers in [-1, 1). */
export function embedVector(text, dims = 8) {
  const out = new Array(dims);
  let block = 0;
  let buf = Buffer.alloc(0);
  let off = 0;
  for (let i = 0; i < dims; i++) {
    if (off + 2 > buf.length) {
      buf = crypto.createHash('sha256').update(`${block++}:${text}`).digest();
      off = 0;
    }
    out[i] = buf.readInt16LE(off) / 32768;
    off += 2;
  }
  return out;
}

/** The fakes' token count for an embedding input: bytes / 4, at least 1. */
export function embedTokens(text) {
  return Math.max(1, Math.ceil(Buffer.byteLength(text ?? '') / 4));
}

/** <vector> as OpenAI's encoding_format "base64": float32 little-endian bytes. */
export function embedBase64(vector) {
  const b = Buffer.alloc(vector.length * 4);
  vector.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return b.toString('base64');
}

/**
 * The vectors an embeddings action answers for <inputs>: the action's own
 * `vectors` when given; `type: 'ragged'` makes the second vector one value
 * short (a malformed answer); else embedVector of each input.
 */
export function embedVectorsFor(action, inputs, dims) {
  if (Array.isArray(action?.vectors)) return action.vectors;
  const vs = inputs.map((t) => embedVector(t, dims));
  if (action?.type === 'ragged' && vs.length > 0) (vs[1] ?? vs[0]).pop();
  return vs;
}

function errorBody(action, status) {
  const defaults = {
    400: ['invalid_request_error', null, 'Invalid request (fake upstream).'],
    401: ['invalid_request_error', 'invalid_api_key', 'Incorrect API key provided (fake upstream).'],
    403: ['invalid_request_error', null, 'Forbidden (fake upstream).'],
    404: ['invalid_request_error', 'model_not_found', 'The model does not exist (fake upstream).'],
    429: ['requests', 'rate_limit_exceeded', 'Rate limit reached (fake upstream).'],
  };
  const d = defaults[status] || (status >= 500 ? ['server_error', null, 'The server had an error (fake upstream).'] : ['invalid_request_error', null, 'Error (fake upstream).']);
  return {
    error: {
      message: action.message ?? d[2],
      type: action.errType ?? d[0],
      param: action.param ?? null,
      code: action.code !== undefined ? action.code : d[1],
    },
  };
}

function usageFor(body, completionText, override) {
  if (override) return override;
  const prompt = Math.ceil(Buffer.byteLength(messagesText(body)) / 4) || 1;
  const completion = Math.ceil(Buffer.byteLength(completionText) / 4);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/**
 * Starts a fake OpenAI-compatible server on 127.0.0.1.
 * @param {object} opts
 * @param {string} [opts.name]       label, used in default replies and logs
 * @param {string} [opts.model]      the model it lists and reports by default
 * @param {number} [opts.port]       0 (default) picks a free port
 * @param {string} [opts.clearance]  'public' makes it check sensitivity tags
 * @param {Function|object} [opts.script]
 */
export async function startFakeOpenAI(opts = {}) {
  const name = opts.name ?? 'fake';
  const model = opts.model ?? 'fake-model';
  const clearance = opts.clearance ?? null;
  const sockets = new Set();
  const pending = new Set(); // timers of in-flight responses
  const requests = [];
  const violations = [];
  const waiters = [];
  let script = opts.script ?? null;
  let modelsStatus = 200;
  let seq = 0;
  let closed = false;

  const fake = {
    name,
    model,
    url: '',
    port: 0,
    requests,
    violations,
    setScript(s) {
      script = s ?? null;
    },
    /** Makes GET /v1/models answer <status> (e.g. 503) to fail health probes. */
    setModelsStatus(status) {
      modelsStatus = status;
    },
    /** How many chat requests carrying <marker> this fake received (its attempts). */
    attempts(marker) {
      return requests.filter((r) => r.method === 'POST' && r.path === '/v1/chat/completions' && r.rawBody.includes(marker)).length;
    },
    /** Only the POST /v1/chat/completions requests. */
    chatRequests() {
      return requests.filter((r) => r.method === 'POST' && r.path === '/v1/chat/completions');
    },
    /** Only the POST /v1/embeddings requests. */
    embedRequests() {
      return requests.filter((r) => r.method === 'POST' && r.path === '/v1/embeddings');
    },
    /** The chat request whose message text contains <marker>, or undefined. */
    find(marker) {
      return requests.find((r) => r.rawBody && r.rawBody.includes(marker));
    },
    /** Resolves with the first recorded request matching pred (checked on every event). */
    waitFor(pred, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const r = requests.find(pred);
          if (r) {
            resolve(r);
            return true;
          }
          return false;
        };
        if (check()) return;
        const w = { check, timer: null };
        w.timer = setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`${name}: timed out after ${timeoutMs} ms waiting for a request`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    /** Destroys the connections of requests still unanswered (hung or slow), so a
     *  test that left one behind does not hold up the next. Returns how many. */
    abortPending() {
      let n = 0;
      for (const r of requests) {
        if (!r.completed && !r.clientClosed && r._res) {
          r.resetByFake = true;
          r._res.socket?.destroy();
          n++;
        }
      }
      return n;
    },
    reset() {
      requests.length = 0;
      violations.length = 0;
      script = opts.script ?? null;
      modelsStatus = 200;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const t of pending) clearTimeout(t);
      pending.clear();
      for (const w of waiters.splice(0)) clearTimeout(w.timer);
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
        for (const s of sockets) s.destroy();
      });
    },
  };

  function notify() {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i];
      if (w.check()) {
        clearTimeout(w.timer);
        waiters.splice(i, 1);
      }
    }
  }

  function wait(ms, rec) {
    if (!ms) return Promise.resolve(!rec.clientClosed);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        pending.delete(t);
        resolve(!rec.clientClosed && !closed);
      }, ms);
      pending.add(t);
    });
  }

  function checkInvariant(rec) {
    if (clearance !== 'public' || rec.method !== 'POST') return;
    const tags = [...rec.rawBody.matchAll(/\[sens:([a-z]+)\]/g)].map((m) => m[1]);
    if (tags.length === 0) {
      violations.push({ requestId: rec.id, reason: 'untagged request reached a public-clearance upstream', path: rec.path });
      return;
    }
    for (const t of tags) {
      if ((SENS_ORDER[t] ?? 99) > SENS_ORDER[clearance]) {
        violations.push({ requestId: rec.id, reason: `[sens:${t}] reached a ${clearance}-clearance upstream`, path: rec.path });
        return;
      }
    }
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const rec = {
        id: ++seq,
        upstream: name,
        method: req.method,
        path: req.url.split('?')[0],
        url: req.url,
        headers: { ...req.headers },
        rawBody: raw.toString('utf8'),
        body: null,
        parseError: null,
        receivedAt: Date.now(),
        status: null,
        action: null,
        chunksSent: 0,
        completed: false, // the fake finished its response normally
        clientClosed: false,
        cancelSeen: false, // the client closed the connection before the response ended
        cancelSeenAt: null,
        resetByFake: false,
      };
      if (raw.length) {
        try {
          rec.body = JSON.parse(rec.rawBody);
        } catch (e) {
          rec.parseError = String(e.message);
        }
      }
      Object.defineProperty(rec, '_res', { value: res, enumerable: false });
      res.on('error', () => {});
      res.on('close', () => {
        rec.clientClosed = true;
        if (!res.writableFinished && !rec.resetByFake && !rec.completed) {
          rec.cancelSeen = true;
          rec.cancelSeenAt = Date.now();
        }
        notify();
      });
      if (!rec.path.startsWith('/__fake/')) {
        requests.push(rec);
        checkInvariant(rec);
      }
      notify();
      handle(req, res, rec).catch((e) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: `fake upstream bug: ${e.message}`, type: 'server_error', param: null, code: null } }));
        } else res.destroy();
      });
    });
  });
  server.keepAliveTimeout = 30000;
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  function sendJSON(res, rec, status, obj, headers = {}) {
    rec.status = status;
    const body = JSON.stringify(obj);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-request-id': `req_fake_${name}_${rec.id}`,
      'openai-processing-ms': '1',
      ...headers,
    });
    res.end(body);
    rec.completed = true;
  }

  async function handle(req, res, rec) {
    const p = rec.path;
    if (p === '/__fake/script' && req.method === 'POST') {
      script = rec.body ?? null;
      return sendJSON(res, rec, 200, { ok: true });
    }
    if (p === '/__fake/requests' && req.method === 'GET') {
      return sendJSON(res, rec, 200, requests.map(({ rawBody, ...r }) => r));
    }
    if (p === '/__fake/reset' && req.method === 'POST') {
      fake.reset();
      return sendJSON(res, rec, 200, { ok: true });
    }
    if (req.method === 'GET' && (p === '/v1/models' || p === '/models')) {
      if (modelsStatus !== 200) return sendJSON(res, rec, modelsStatus, errorBody({}, modelsStatus));
      return sendJSON(res, rec, 200, {
        object: 'list',
        data: [{ id: model, object: 'model', created: 1700000000, owned_by: name }],
      });
    }
    if (req.method === 'GET' && (p.startsWith('/v1/models/') || p.startsWith('/models/'))) {
      const id = decodeURIComponent(p.slice(p.lastIndexOf('/models/') + 8));
      if (id !== model) return sendJSON(res, rec, 404, errorBody({ message: `The model '${id}' does not exist`, code: 'model_not_found' }, 404));
      return sendJSON(res, rec, 200, { id: model, object: 'model', created: 1700000000, owned_by: name });
    }
    if (p === '/v1/embeddings' || p === '/embeddings') {
      if (req.method !== 'POST') return sendJSON(res, rec, 405, errorBody({ message: `Method ${req.method} not allowed` }, 405));
      return handleEmbeddings(req, res, rec);
    }
    if (p !== '/v1/chat/completions' && p !== '/chat/completions') {
      return sendJSON(res, rec, 404, errorBody({ message: `Invalid URL (${req.method} ${p})`, code: null }, 404));
    }
    if (req.method !== 'POST') {
      return sendJSON(res, rec, 405, errorBody({ message: `Method ${req.method} not allowed` }, 405));
    }
    if (rec.parseError || !rec.body || typeof rec.body !== 'object') {
      return sendJSON(res, rec, 400, errorBody({ message: 'We could not parse the JSON body of your request.' }, 400));
    }
    let action;
    if (typeof script === 'function') action = await script(rec, fake);
    else if (script) action = script;
    if (!action) action = defaultScript(rec, fake);
    rec.action = action;
    return respond(req, res, rec, action);
  }

  // POST /v1/embeddings: {model, input: string | string[], encoding_format?,
  // dimensions?, user?} -> {object:"list", data:[{object:"embedding", index,
  // embedding}], model, usage:{prompt_tokens, total_tokens}}. Vectors are
  // embedVector(input, dimensions ?? opts.embedDims ?? 8), base64 float32 when
  // asked. Token-id input is refused (seam must only ever send text). Actions:
  // error, hang, reset, garbage (200 with a non-JSON body), ragged (one vector
  // short of a value); `vectors`, `usage`, `model`, `delayMs` override.
  async function handleEmbeddings(req, res, rec) {
    const b = rec.body;
    const bad = (message, param = null) => {
      rec.validation = message;
      return sendJSON(res, rec, 400, errorBody({ message, param }, 400));
    };
    if (rec.parseError || !b || typeof b !== 'object' || Array.isArray(b)) return bad('We could not parse the JSON body of your request.');
    if (typeof b.model !== 'string' || !b.model) return bad('you must provide a model parameter', 'model');
    const inputs = typeof b.input === 'string' ? [b.input] : b.input;
    if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > 2048) return bad("'$.input' is invalid.", 'input');
    if (!inputs.every((t) => typeof t === 'string' && t.length > 0)) return bad("'$.input' is invalid: the fake only takes non-empty strings.", 'input');
    if (b.encoding_format !== undefined && b.encoding_format !== 'float' && b.encoding_format !== 'base64') return bad(`Invalid value for 'encoding_format': ${JSON.stringify(b.encoding_format)}.`, 'encoding_format');
    if (b.dimensions !== undefined && !(Number.isInteger(b.dimensions) && b.dimensions > 0)) return bad('dimensions must be a positive integer.', 'dimensions');
    rec.embedInputs = inputs;
    let action;
    if (typeof script === 'function') action = await script(rec, fake);
    else if (script) action = script;
    action = action ?? { type: 'embeddings' };
    rec.action = action;
    const type = action.type ?? 'embeddings';
    if (action.firstByteDelayMs && !(await wait(action.firstByteDelayMs, rec))) return;
    if (type === 'hang') return;
    if (type === 'error') {
      const status = action.status ?? 500;
      return sendJSON(res, rec, status, errorBody(action, status), action.headers ?? {});
    }
    if (type === 'reset') {
      rec.resetByFake = true;
      res.socket?.destroy();
      return;
    }
    if (type === 'garbage') {
      rec.status = 200;
      const g = action.body ?? '<<this is not json>> {"object": ';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(g) });
      res.end(g);
      rec.completed = true;
      return;
    }
    if (action.delayMs && !(await wait(action.delayMs, rec))) return;
    const vectors = embedVectorsFor(action, inputs, b.dimensions ?? opts.embedDims ?? 8);
    const prompt = inputs.reduce((n, t) => n + embedTokens(t), 0);
    const usage = action.usage ?? { prompt_tokens: prompt, total_tokens: prompt };
    rec.vectors = vectors;
    rec.usage = usage;
    return sendJSON(
      res,
      rec,
      200,
      {
        object: 'list',
        data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: b.encoding_format === 'base64' ? embedBase64(v) : v })),
        model: action.model ?? b.model,
        usage,
      },
      action.headers ?? {},
    );
  }

  async function respond(req, res, rec, a) {
    const body = rec.body;
    const stream = body.stream === true;
    const includeUsage = !!(body.stream_options && body.stream_options.include_usage);
    const id = `chatcmpl-fake${crypto.randomBytes(8).toString('hex')}`;
    const created = nowSec();
    const echoModel = a.model ?? (typeof body.model === 'string' ? body.model : model);
    const type = a.type ?? 'text';

    if (a.firstByteDelayMs && !(await wait(a.firstByteDelayMs, rec))) return;

    switch (type) {
      case 'hang':
        return; // never answer; close() or the client ends the socket
      case 'error': {
        const status = a.status ?? 500;
        return sendJSON(res, rec, status, errorBody(a, status), a.headers ?? {});
      }
      case 'garbage': {
        const mode = a.mode ?? (stream ? 'sse' : 'json');
        rec.status = 200;
        if (mode === 'json') {
          const b = a.body ?? '<<this is not json>> {"id": ';
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(b) });
          res.end(b);
        } else if (mode === 'html') {
          const b = '<html><body>502 Bad Gateway</body></html>';
          res.writeHead(200, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(b) });
          res.end(b);
        } else {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
          if (mode !== 'sse-first') {
            const first = chunkObj(id, created, echoModel, includeUsage, [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }]);
            res.write(`data: ${JSON.stringify(first)}\n\n`);
            const pieces = splitInto(a.content ?? 'partial answer', a.chunks ?? 4);
            for (let i = 0; i < Math.min(a.afterChunks ?? 0, pieces.length); i++) {
              const c = chunkObj(id, created, echoModel, includeUsage, [{ index: 0, delta: { content: pieces[i] }, logprobs: null, finish_reason: null }]);
              res.write(`data: ${JSON.stringify(c)}\n\n`);
              rec.chunksSent++;
            }
          }
          res.write(a.line ?? 'data: {"id":"chatcmpl-broken","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"tru\n\n');
          res.end();
        }
        rec.completed = true;
        return;
      }
      case 'drop':
        // A reset before any byte of the response (no status line, no headers).
        rec.resetByFake = true;
        res.socket?.destroy();
        return;
      case 'slow':
        return respondSlow(res, rec, a, { stream, includeUsage, id, created, echoModel });
      case 'overlong':
      case 'short':
        return respondLengthMismatch(res, rec, a, type, { id, created, echoModel });
      case 'huge':
        return respondHuge(res, rec, a, { stream, id, created, echoModel });
      case 'flood':
        return respondFlood(res, rec, a, { id, created, echoModel });
      case 'reset':
      case 'stream-error':
      case 'text':
      case 'tools':
        break;
      default:
        return sendJSON(res, rec, 500, errorBody({ message: `fake upstream: unknown action type ${type}` }, 500));
    }

    // Build the reply: content pieces and/or tool calls.
    let content = a.content ?? `Hello from ${name}.`;
    let toolCalls = null;
    if (type === 'tools') {
      content = a.content ?? null;
      toolCalls = (a.toolCalls ?? [{ name: 'get_weather', arguments: { city: 'Paris' } }]).map((c, i) => ({
        id: c.id ?? `call_fake${i}${crypto.randomBytes(6).toString('hex')}`,
        type: 'function',
        function: { name: c.name, arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments ?? {}) },
      }));
    }
    const finishReason = a.finishReason ?? (toolCalls ? 'tool_calls' : 'stop');
    const completionText = (content ?? '') + (toolCalls ? toolCalls.map((c) => c.function.arguments).join('') : '');
    const usage = usageFor(body, completionText, a.usage);
    rec.usage = usage;
    const reasoning = type === 'text' && a.thinking && body.reasoning_effort !== 'none' ? a.thinking : null;
    rec.reply = { content, toolCalls, finishReason, reasoning };

    if (!stream) {
      if (type === 'reset') {
        rec.resetByFake = true;
        if ((a.afterChunks ?? 0) > 0) {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': 4096 });
          res.write(`{"id":"${id}","object":"chat.completion","created":${created},"choices":[{"index":0,"message":{"role":"assistant","content":"`);
          await wait(20, rec);
        }
        res.socket?.destroy();
        return;
      }
      if (type === 'stream-error') {
        return sendJSON(res, rec, 500, errorBody(a, 500));
      }
      if (a.delayMs && !(await wait(a.delayMs, rec))) return;
      const message = { role: 'assistant', content, refusal: null, annotations: [] };
      if (reasoning) message.reasoning_content = reasoning;
      if (toolCalls) message.tool_calls = toolCalls;
      return sendJSON(
        res,
        rec,
        a.status ?? 200,
        {
          id,
          object: 'chat.completion',
          created,
          model: echoModel,
          choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
          usage,
          service_tier: 'default',
          system_fingerprint: 'fp_fake',
        },
        a.headers ?? {},
      );
    }

    // Streaming.
    rec.status = 200;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-request-id': `req_fake_${name}_${rec.id}`,
      ...(a.headers ?? {}),
    });
    res.flushHeaders();
    const send = (choices, extra) => {
      if (rec.clientClosed) return false;
      const obj = chunkObj(id, created, echoModel, includeUsage, choices, extra);
      res.write(`data: ${JSON.stringify(obj)}\n\n`);
      return true;
    };
    const delay = a.delayMs ?? 0;

    if (toolCalls) {
      const first = toolCalls[0];
      const firstDelta = {
        role: 'assistant',
        content: null,
        tool_calls: [{ index: 0, id: first.id, type: 'function', function: { name: first.function.name, arguments: '' } }],
        refusal: null,
      };
      if (!send([{ index: 0, delta: firstDelta, logprobs: null, finish_reason: null }])) return;
      const frags = a.fragments ?? 4;
      for (let i = 0; i < toolCalls.length; i++) {
        const c = toolCalls[i];
        if (i > 0) {
          if (!(await wait(delay, rec))) return;
          if (!send([{ index: 0, delta: { tool_calls: [{ index: i, id: c.id, type: 'function', function: { name: c.function.name, arguments: '' } }] }, logprobs: null, finish_reason: null }])) return;
        }
        for (const piece of splitInto(c.function.arguments, frags)) {
          if (!(await wait(delay, rec))) return;
          if (!send([{ index: 0, delta: { tool_calls: [{ index: i, function: { arguments: piece } }] }, logprobs: null, finish_reason: null }])) return;
          rec.chunksSent++;
        }
      }
    } else {
      if (!send([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }])) return;
      for (const piece of reasoning ? splitInto(reasoning, 3) : []) {
        if (!(await wait(delay, rec))) return;
        if (!send([{ index: 0, delta: { reasoning_content: piece }, logprobs: null, finish_reason: null }])) return;
      }
      const pieces = splitInto(content, a.chunks ?? defaultChunks(content));
      const stopAt = type === 'reset' || type === 'stream-error' ? Math.min(a.afterChunks ?? 1, pieces.length) : a.hangAfterChunks ?? Infinity;
      for (let i = 0; i < pieces.length; i++) {
        if (i >= stopAt) break;
        if (!(await wait(delay, rec))) return;
        if (i === a.stallAfterChunks && !(await wait(a.stallMs ?? 0, rec))) return; // a gap, then on
        if (!send([{ index: 0, delta: { content: pieces[i] }, logprobs: null, finish_reason: null }])) return;
        rec.chunksSent++;
      }
      if (type === 'reset') {
        await wait(20, rec); // let the chunks leave before the reset
        rec.resetByFake = true;
        res.socket?.destroy();
        return;
      }
      if (type === 'stream-error') {
        const err = errorBody(a, 500);
        res.write(`data: ${JSON.stringify(err)}\n\n`);
        res.end();
        rec.completed = true;
        return;
      }
      if (a.hangAfterChunks !== undefined) return; // stall: no finish, no [DONE]
    }
    if (!(await wait(delay, rec))) return;
    if (!send([{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason }])) return;
    if (includeUsage) {
      if (!send([], { usage })) return;
    }
    res.write('data: [DONE]\n\n');
    rec.completed = true;
    res.end();
  }

  /** The whole text reply of action <a>: the non-stream JSON, or the SSE stream. */
  function wholeReply(rec, a, { stream, includeUsage, id, created, echoModel }) {
    const content = a.content ?? `Hello from ${name}.`;
    const usage = usageFor(rec.body, content, a.usage);
    rec.usage = usage;
    rec.reply = { content, toolCalls: null, finishReason: a.finishReason ?? 'stop', reasoning: null };
    if (!stream) {
      return JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model: echoModel,
        choices: [{ index: 0, message: { role: 'assistant', content, refusal: null, annotations: [] }, logprobs: null, finish_reason: a.finishReason ?? 'stop' }],
        usage,
        service_tier: 'default',
        system_fingerprint: 'fp_fake',
      });
    }
    const ev = (choices, extra) => `data: ${JSON.stringify(chunkObj(id, created, echoModel, includeUsage, choices, extra))}\n\n`;
    let out = ev([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }]);
    for (const piece of splitInto(content, a.chunks ?? defaultChunks(content))) out += ev([{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }]);
    out += ev([{ index: 0, delta: {}, logprobs: null, finish_reason: a.finishReason ?? 'stop' }]);
    if (includeUsage) out += ev([], { usage });
    return out + 'data: [DONE]\n\n';
  }

  // { type: 'slow', content, chunks, bytesPerWrite (1), byteDelayMs (10) }: a
  // well-formed answer (JSON or SSE) written a few bytes at a time.
  async function respondSlow(res, rec, a, ctx) {
    const text = Buffer.from(wholeReply(rec, a, ctx));
    rec.status = 200;
    const headers = ctx.stream
      ? { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }
      : { 'content-type': 'application/json', 'content-length': text.length };
    res.writeHead(200, { ...headers, 'x-request-id': `req_fake_${name}_${rec.id}`, ...(a.headers ?? {}) });
    res.flushHeaders();
    const step = Math.max(1, a.bytesPerWrite ?? 1);
    for (let i = 0; i < text.length; i += step) {
      if (!(await wait(a.byteDelayMs ?? 10, rec))) return;
      res.write(text.subarray(i, i + step));
      rec.chunksSent++;
    }
    rec.completed = true;
    res.end();
  }

  // { type: 'overlong', extraBytes (8 MiB) }: a valid JSON answer announced by
  // its exact Content-Length, followed on the same connection by extraBytes
  // of junk, then the socket is closed.
  // { type: 'short', missingBytes (4096), then: 'close' | 'hang' }: a
  // Content-Length missingBytes larger than the JSON sent, then the socket is
  // closed (default) or left open with nothing more.
  // Both write raw bytes to the socket (Node's writer refuses a mismatch).
  async function respondLengthMismatch(res, rec, a, type, { id, created, echoModel }) {
    const json = Buffer.from(wholeReply(rec, a, { stream: false, includeUsage: false, id, created, echoModel }));
    const announce = type === 'overlong' ? json.length : json.length + (a.missingBytes ?? 4096);
    const head = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${announce}\r\nconnection: keep-alive\r\n\r\n`;
    const sock = res.socket;
    if (!sock) return;
    rec.status = 200;
    sock.write(head);
    sock.write(json);
    if (type === 'overlong') {
      const junk = Buffer.alloc(64 * 1024, 'x');
      let left = a.extraBytes ?? 8 * 1024 * 1024;
      while (left > 0 && !sock.destroyed) {
        const n = Math.min(left, junk.length);
        if (!sock.write(junk.subarray(0, n))) await new Promise((r) => sock.once('drain', r).once('close', r));
        left -= n;
      }
    } else if ((a.then ?? 'close') === 'hang') {
      return;
    }
    await wait(20, rec);
    rec.resetByFake = true;
    rec.completed = true;
    sock.destroy();
  }

  // { type: 'huge', bytes (32 MiB), mode: 'json' | 'sse-line' }: mode json
  // (default for non-stream) is a 200 chunked JSON answer whose content is
  // `bytes` long; mode sse-line (default for stream) is a role chunk, then
  // one `data:` line of `bytes` bytes that never ends, then the socket closes.
  async function respondHuge(res, rec, a, { stream, id, created, echoModel }) {
    const mode = a.mode ?? (stream ? 'sse-line' : 'json');
    const total = a.bytes ?? 32 * 1024 * 1024;
    rec.status = 200;
    const piece = Buffer.alloc(64 * 1024, 'a');
    const pump = async (n) => {
      while (n > 0 && !rec.clientClosed) {
        const k = Math.min(n, piece.length);
        if (!res.write(piece.subarray(0, k))) await new Promise((r) => res.once('drain', r).once('close', r));
        n -= k;
      }
      return !rec.clientClosed;
    };
    if (mode === 'json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"id":"${id}","object":"chat.completion","created":${created},"model":${JSON.stringify(echoModel)},"choices":[{"index":0,"message":{"role":"assistant","content":"`);
      if (!(await pump(total))) return;
      res.end('"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}');
      rec.completed = true;
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    const first = chunkObj(id, created, echoModel, false, [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }]);
    res.write(`data: ${JSON.stringify(first)}\n\ndata: {"choices":[{"index":0,"delta":{"content":"`);
    if (!(await pump(total))) return;
    await wait(20, rec);
    rec.resetByFake = true;
    res.socket?.destroy();
  }

  // { type: 'flood', chunkBytes (16384), chunks (4096) }: a stream of
  // `chunks` content deltas of `chunkBytes` letters each, as fast as the
  // connection takes them: it waits for 'drain' whenever a write is not
  // taken, so rec.bytesSent shows how far the reader (seam) let it get.
  async function respondFlood(res, rec, a, { id, created, echoModel }) {
    rec.status = 200;
    rec.bytesSent = 0;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    const n = a.chunks ?? 4096;
    const size = a.chunkBytes ?? 16384;
    const put = async (obj) => {
      if (rec.clientClosed) return false;
      const line = `data: ${JSON.stringify(obj)}\n\n`;
      rec.bytesSent += Buffer.byteLength(line);
      if (!res.write(line)) await new Promise((r) => res.once('drain', r).once('close', r));
      return !rec.clientClosed;
    };
    if (!(await put(chunkObj(id, created, echoModel, false, [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }])))) return;
    for (let i = 0; i < n; i++) {
      const text = letters[i % 26].repeat(size);
      if (!(await put(chunkObj(id, created, echoModel, false, [{ index: 0, delta: { content: text }, logprobs: null, finish_reason: null }])))) return;
      rec.chunksSent++;
    }
    if (!(await put(chunkObj(id, created, echoModel, false, [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }])))) return;
    res.write('data: [DONE]\n\n');
    rec.completed = true;
    res.end();
  }

  function chunkObj(id, created, m, includeUsage, choices, extra) {
    const o = {
      id,
      object: 'chat.completion.chunk',
      created,
      model: m,
      service_tier: 'default',
      system_fingerprint: 'fp_fake',
      choices,
    };
    if (includeUsage) o.usage = null;
    if (extra) Object.assign(o, extra);
    return o;
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  fake.port = server.address().port;
  fake.url = `http://127.0.0.1:${fake.port}`;
  return fake;
}

// ---------------------------------------------------------------- standalone
function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (!k.startsWith('--')) continue;
    const key = k.slice(2);
    if (key === 'quiet' || key === 'help') o[key] = true;
    else o[key] = argv[++i];
  }
  return o;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    console.log('usage: node tests/upstreams/fake-openai.mjs [--port N] [--name X] [--model M] [--chunks N] [--delay MS] [--content TEXT] [--clearance public] [--quiet]');
    process.exit(0);
  }
  const staticScript =
    args.chunks || args.delay || args.content
      ? (req, f) => {
          const d = defaultScript(req, f);
          if (args.content !== undefined) d.content = args.content;
          if (args.chunks) d.chunks = Number(args.chunks);
          if (args.delay) d.delayMs = Number(args.delay);
          return d;
        }
      : null;
  const fake = await startFakeOpenAI({
    name: args.name ?? 'fake',
    model: args.model ?? 'fake-model',
    port: Number(args.port ?? 0),
    clearance: args.clearance,
    script: staticScript,
  });
  // Keep memory bounded in long benchmark runs: forget old requests.
  setInterval(() => {
    if (fake.requests.length > 10000) fake.requests.splice(0, fake.requests.length - 1000);
  }, 1000).unref();
  console.log(`fake-openai ${fake.name} listening on ${fake.url}`);
  const stop = async () => {
    await fake.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
