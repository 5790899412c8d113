// The skeleton shared by the fake Anthropic, Ollama and Gemini upstreams:
// an HTTP server on 127.0.0.1 that records every request, answers each one
// per a script (an action object, or a function of the request), and offers
// the same control API as fake-openai.mjs (requests, setScript, find,
// waitFor, abortPending, reset, close, violations), so tests can drive all
// four fakes alike.
//
// A fake supplies handle(req, res, rec, fake) for its own routes and wire
// format. The helpers here do what every wire format needs: recording,
// the clearance invariant check, writing JSON, waiting between chunks
// while noticing a client that went away, resets and hangs.
//
// Common action types (each fake documents its own fields):
//   { type: 'text', content, chunks, delayMs, thinking, usage, finishReason, model }
//   { type: 'tools', toolCalls: [{ id, name, arguments }], fragments, content, thinking }
//   { type: 'error', status, message, errType }      HTTP error in the provider's shape
//   { type: 'stream-error', afterChunks, message }   200, some chunks, then the
//                                                    provider's mid-stream error
//   { type: 'hang' }                                 never answers
//   { type: 'reset', afterChunks }                   some chunks, then a TCP reset
//   { type: 'garbage' }                              200 with a body that is not the format
//
// Default script (no setScript): a text reply; `[reply:TEXT]`, `[chunks:N]`
// and `[delay:MS]` in the last user message change it, as in fake-openai.

import http from 'node:http';

const SENS_ORDER = { public: 0, internal: 1, regulated: 2 };

/** Splits <s> into <n> non-empty pieces (fewer when s is shorter than n). */
export function splitInto(s, n) {
  const chars = Array.from(s);
  n = Math.max(1, Math.min(n, chars.length || 1));
  const pieces = [];
  const size = Math.ceil(chars.length / n) || 1;
  for (let i = 0; i < chars.length; i += size) pieces.push(chars.slice(i, i + size).join(''));
  if (pieces.length === 0) pieces.push('');
  return pieces;
}

/** The default script from the text of the last user message. */
export function defaultAction(lastUserText, name) {
  const reply = /\[reply:([^\]]*)\]/.exec(lastUserText);
  const chunks = /\[chunks:(\d+)\]/.exec(lastUserText);
  const delay = /\[delay:(\d+)\]/.exec(lastUserText);
  return {
    type: 'text',
    content: reply ? reply[1] : `Hello from ${name}.`,
    chunks: chunks ? Number(chunks[1]) : undefined,
    delayMs: delay ? Number(delay[1]) : 0,
  };
}

/** A rough token count for usage numbers: bytes / 4, at least 1. */
export function tokens(text) {
  return Math.max(1, Math.ceil(Buffer.byteLength(text ?? '') / 4));
}

/**
 * Starts a fake server.
 * opts: name, model, port, clearance ('public' checks [sens:..] tags in every
 * POST body), script, handle(req, res, rec, fake) -> Promise.
 */
export async function startFakeServer(opts) {
  const name = opts.name ?? 'fake';
  const model = opts.model ?? 'fake-model';
  const clearance = opts.clearance ?? null;
  const sockets = new Set();
  const pending = new Set();
  const requests = [];
  const violations = [];
  const waiters = [];
  let seq = 0;
  let closed = false;

  const fake = {
    name,
    model,
    url: '',
    port: 0,
    requests,
    violations,
    script: opts.script ?? null,
    setScript(s) {
      fake.script = s ?? null;
    },
    /** The request whose raw body contains <marker>, or undefined. */
    find(marker) {
      return requests.find((r) => r.rawBody && r.rawBody.includes(marker));
    },
    /** POST requests only (what seam sent, not probes). */
    posts() {
      return requests.filter((r) => r.method === 'POST');
    },
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
      fake.script = opts.script ?? null;
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
    /** Resolves after ms unless the client went away (then false). */
    wait(ms, rec) {
      if (!ms) return Promise.resolve(!rec.clientClosed);
      return new Promise((resolve) => {
        const t = setTimeout(() => {
          pending.delete(t);
          resolve(!rec.clientClosed && !closed);
        }, ms);
        pending.add(t);
      });
    },
    sendJSON(res, rec, status, obj, headers = {}) {
      rec.status = status;
      const body = JSON.stringify(obj);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
      res.end(body);
      rec.completed = true;
    },
    /** Writes a chunk of a streamed answer unless the client went away. */
    write(res, rec, text) {
      if (rec.clientClosed) return false;
      res.write(text);
      rec.chunksSent++;
      return true;
    },
    end(res, rec) {
      rec.completed = true;
      res.end();
    },
    async resetSocket(res, rec) {
      await fake.wait(20, rec); // let what was written leave first
      rec.resetByFake = true;
      res.socket?.destroy();
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

  function checkInvariant(rec) {
    if (clearance === null || rec.method !== 'POST') return;
    const tags = [...rec.rawBody.matchAll(/\[sens:(\w+)\]/g)].map((m) => m[1]);
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
        query: new URL(req.url, 'http://x').searchParams,
        headers: { ...req.headers },
        rawBody: raw.toString('utf8'),
        body: null,
        parseError: null,
        receivedAt: Date.now(),
        status: null,
        action: null,
        chunksSent: 0,
        completed: false,
        clientClosed: false,
        cancelSeen: false,
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
        if (!res.writableFinished && !rec.resetByFake && !rec.completed) rec.cancelSeen = true;
        notify();
      });
      requests.push(rec);
      checkInvariant(rec);
      notify();
      opts.handle(req, res, rec, fake).catch((e) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: `fake upstream bug: ${e.message}` }));
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

/** Resolves the action for <rec>: the script's, else the default. */
export async function actionFor(fake, rec, lastUserText) {
  let action;
  if (typeof fake.script === 'function') action = await fake.script(rec, fake);
  else if (fake.script) action = fake.script;
  if (!action) action = defaultAction(lastUserText, fake.name);
  rec.action = action;
  return action;
}

/** Runs a standalone fake from the command line until SIGINT/SIGTERM. */
export async function runStandalone(label, start) {
  const args = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) if (argv[i].startsWith('--')) args[argv[i].slice(2)] = argv[i + 1]?.startsWith('--') ? true : argv[++i];
  const fake = await start({ name: args.name ?? label, model: args.model, port: Number(args.port ?? 0), apiKey: args['api-key'] });
  console.log(`${label} ${fake.name} listening on ${fake.url}`);
  const stop = async () => {
    await fake.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
