// Helpers for the integration suites: start a real seam process on an inline
// YAML config, fake upstreams, OpenAI SDK clients pointed at seam, raw HTTP
// and SSE helpers, and the sensitivity tags behind the cloud invariant check.
//
// Every process started here is registered and killed when the test process
// exits, whatever happens; each suite still stops what it started in after().

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFakeOpenAI } from '../upstreams/fake-openai.mjs';

export { startFakeOpenAI };
export const LOCAL_MODEL = 'gemma4:31b';
export const CLOUD_MODEL = 'gpt-5.1';
export const CLOUD_KEY_ENV = 'SEAM_TEST_CLOUD_KEY';
export const CLOUD_KEY = 'sk-seam-test-cloud-' + crypto.randomBytes(6).toString('hex');

export const SEAM_BIN = path.resolve(process.env.SEAM_BIN || './seam');

// ------------------------------------------------------------ process registry
const live = new Set();
process.on('exit', () => {
  for (const p of live) {
    try {
      p.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls fn() until it returns a truthy value (returned) or timeoutMs passes (throws). */
export async function waitUntil(fn, { timeoutMs = 3000, intervalMs = 50, what = 'condition' } = {}) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await sleep(intervalMs);
  }
}

/** Rejects after ms with a message; use with Promise.race to bound an await. */
export function within(promise, ms, what = 'operation') {
  let t;
  return Promise.race([
    promise.finally(() => clearTimeout(t)),
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

// ------------------------------------------------------------------- tagging
/** A unique marker to find a request at the upstream. */
export function rid() {
  return 'rid-' + crypto.randomBytes(6).toString('hex');
}

/**
 * A user message text carrying its effective sensitivity tag and a request id.
 * The cloud fake records a violation for any tag other than [sens:public].
 */
export function tagged(sens, text = 'hello', id = rid()) {
  return `[sens:${sens}] [${id}] ${text}`;
}

export function userMsg(sens, text, id) {
  return { role: 'user', content: tagged(sens, text, id) };
}

// --------------------------------------------------------------------- config
/**
 * The standard two-backend test config as YAML text.
 * opts: local, cloud (base URLs), workers, limits {max_body_bytes,
 * request_timeout_ms}, policyExtra (YAML lines under policy:, e.g.
 * 'unknown_model: route'), defaultPool, rules (YAML text replacing the
 * default rules block), extraBackends (YAML list items), extraPools (lines),
 * retries (per pool, default 0) and circuit (a YAML line). The defaults make
 * one attempt per request and a breaker that never opens: the suites built
 * on this config test what a single attempt answers; retries, fallbacks and
 * breakers have their own suite (chaos.test.mjs).
 */
export function seamConfig(opts) {
  const limits = { max_body_bytes: 33554432, request_timeout_ms: 30000, ...(opts.limits ?? {}) };
  const rules =
    opts.rules ??
    `    - { name: sensitive-stays-local, when: { sensitivity: [internal, regulated] }, route: local }
    - { name: high-volume-stays-local, when: { tokens_gt: 64000 }, route: local }
    - { name: frontier-drafting, when: { kind: [draft], complexity: [high] }, route: cloud }`;
  return `# seam integration test config (generated)
listen: 127.0.0.1:0
workers: ${opts.workers ?? 2}
limits: { max_body_bytes: ${limits.max_body_bytes}, request_timeout_ms: ${limits.request_timeout_ms} }
backends:
  - name: local
    provider: openai
    url: ${opts.local}
    location: local
    models: [gemma4:31b]
    context_window: 262144
  - name: frontier
    provider: openai
    url: ${opts.cloud}
    location: cloud
    models: [gpt-5.1]
    context_window: 400000
    api_key_env: ${CLOUD_KEY_ENV}
${opts.extraBackends ?? ''}pools:
  local: { backends: [local], retries: ${opts.retries ?? 0} }
  cloud: { backends: [frontier], retries: ${opts.retries ?? 0} }
${opts.extraPools ?? ''}${opts.circuit ?? 'circuit: { failures: 1000, window_ms: 1000 }'}
policy:
  rules:
${rules}
  default: ${opts.defaultPool ?? 'local'}
${opts.policyExtra ? opts.policyExtra.split('\n').map((l) => '  ' + l).join('\n') + '\n' : ''}`;
}

let tmpRoot = null;
export function tmpDir() {
  if (!tmpRoot) {
    tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'seam-it-'));
    process.on('exit', () => {
      try {
        fs.rmSync(tmpRoot, { recursive: true, force: true });
      } catch {
        /* ignore */
      }
    });
  }
  return tmpRoot;
}

export function writeConfig(yaml, name = 'seam') {
  const file = path.join(tmpDir(), `${name}-${crypto.randomBytes(4).toString('hex')}.yaml`);
  fs.writeFileSync(file, yaml);
  return file;
}

export function binaryMissing() {
  try {
    fs.accessSync(SEAM_BIN, fs.constants.X_OK);
    return false;
  } catch {
    return `seam binary not found or not executable at ${SEAM_BIN} (set SEAM_BIN)`;
  }
}

// ------------------------------------------------------------------ run seam
/**
 * Runs `seam <args>` to completion (for the CLI subcommands).
 * Resolves {code, signal, stdout, stderr}.
 */
export function runSeam(args, { input, env, timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(SEAM_BIN, args, { env: { ...process.env, ...(env ?? {}) }, stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(p);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`seam ${args.join(' ')} did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    p.on('error', (e) => {
      clearTimeout(t);
      live.delete(p);
      reject(e);
    });
    p.on('close', (code, signal) => {
      clearTimeout(t);
      live.delete(p);
      resolve({ code, signal, stdout, stderr, sanitizer: sanitizerReport(stderr) });
    });
    p.stdin.on('error', () => {});
    if (input !== undefined) p.stdin.end(input);
    else p.stdin.end();
  });
}

/** The first sanitizer finding (ASan, LSan, UBSan) in <text>, or null. */
export function sanitizerReport(text) {
  const m = /(ERROR: (AddressSanitizer|LeakSanitizer)[^\n]*|[^\n]*runtime error:[^\n]*)/.exec(text);
  return m ? m[1] : null;
}

/**
 * Starts `seam serve -c <file>` on the given YAML text and waits for its
 * `listening` log line. Resolves an object:
 *   listen ("127.0.0.1:PORT"), baseURL ("http://127.0.0.1:PORT/v1"),
 *   origin ("http://127.0.0.1:PORT"), proc, logs (parsed JSON stderr lines),
 *   stderr() (all text), client(opts) (OpenAI SDK), stop() -> exit code,
 *   exited (promise of {code, signal}).
 */
export async function startSeam(yaml, { env = {}, readyTimeoutMs = 10000, args = [], cwd } = {}) {
  const missing = binaryMissing();
  if (missing) throw new Error(missing);
  const file = writeConfig(yaml);
  // Each seam runs in its own directory, so the default ledger (./seam.db)
  // of one process is never another's.
  const proc = spawn(SEAM_BIN, ['serve', '-c', file, ...args], {
    cwd: cwd ?? fs.mkdtempSync(path.join(tmpDir(), 'run-')),
    env: { ...process.env, [CLOUD_KEY_ENV]: CLOUD_KEY, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  const logs = [];
  let errText = '';
  let outText = '';
  let pendingLine = '';
  let onLine = null;
  proc.stdout.on('data', (d) => (outText += d));
  proc.stderr.on('data', (d) => {
    const s = d.toString('utf8');
    errText += s;
    pendingLine += s;
    let i;
    while ((i = pendingLine.indexOf('\n')) >= 0) {
      const line = pendingLine.slice(0, i);
      pendingLine = pendingLine.slice(i + 1);
      let obj = null;
      try {
        obj = JSON.parse(line);
      } catch {
        /* not JSON */
      }
      if (obj) logs.push(obj);
      onLine?.(obj, line);
    }
  });
  const exited = new Promise((resolve) => {
    proc.on('close', (code, signal) => {
      live.delete(proc);
      resolve({ code, signal });
    });
  });
  let exitInfo = null;
  exited.then((e) => (exitInfo = e));

  const listen = await new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`seam did not log "listening" within ${readyTimeoutMs} ms; stderr:\n${errText}`));
    }, readyTimeoutMs);
    onLine = (obj) => {
      if (obj && obj.msg === 'listening' && typeof obj.listen === 'string') {
        clearTimeout(t);
        onLine = null;
        resolve(obj.listen);
      }
    };
    for (const o of logs) onLine?.(o);
    exited.then(({ code, signal }) => {
      clearTimeout(t);
      reject(new Error(`seam exited (code ${code}, signal ${signal}) before listening; config ${file}; stderr:\n${errText}\nstdout:\n${outText}`));
    });
  });

  const origin = `http://${listen}`;
  const seam = {
    file,
    listen,
    origin,
    baseURL: `${origin}/v1`,
    proc,
    logs,
    exited,
    stderr: () => errText,
    stdout: () => outText,
    get running() {
      return exitInfo === null;
    },
    client(opts = {}) {
      return new OpenAI({ baseURL: `${origin}/v1`, apiKey: 'sk-seam-client-key', maxRetries: 0, timeout: 20000, ...opts });
    },
    /** SIGTERM, then wait (SIGKILL after timeoutMs). Resolves the exit code (null if killed by a signal). */
    async stop(timeoutMs = 15000) {
      if (exitInfo) return exitInfo.code;
      proc.kill('SIGTERM');
      let t;
      const r = await Promise.race([
        exited,
        new Promise((resolve) => {
          t = setTimeout(() => resolve(null), timeoutMs);
        }),
      ]);
      clearTimeout(t);
      if (r === null) {
        proc.kill('SIGKILL');
        await exited;
        return `did not exit within ${timeoutMs} ms of SIGTERM`;
      }
      const san = sanitizerReport(errText);
      if (san) return `exit ${r.code} with a sanitizer report: ${san}`;
      return r.code;
    },
    kill() {
      if (!exitInfo) proc.kill('SIGKILL');
      return exited;
    },
  };
  return seam;
}

/**
 * Starts a fake local upstream, a fake cloud upstream (clearance public: it
 * records a violation for any non-public tag) and seam on the standard config.
 * configOpts are passed to seamConfig (local/cloud URLs filled in).
 */
export async function startStack(configOpts = {}, seamOpts = {}) {
  const local = await startFakeOpenAI({ name: 'local', model: LOCAL_MODEL });
  const cloud = await startFakeOpenAI({ name: 'cloud', model: CLOUD_MODEL, clearance: 'public' });
  let seam;
  try {
    const yaml = typeof configOpts === 'function' ? configOpts({ local: local.url, cloud: cloud.url }) : seamConfig({ local: local.url, cloud: cloud.url, ...configOpts });
    seam = await startSeam(yaml, seamOpts);
  } catch (e) {
    await local.close();
    await cloud.close();
    throw e;
  }
  const stack = {
    local,
    cloud,
    seam,
    client: seam.client(),
    /** Stops seam (returns its exit code) and both fakes. */
    async stop() {
      let code;
      try {
        code = await seam.stop();
      } finally {
        await local.close();
        await cloud.close();
      }
      return code;
    },
  };
  return stack;
}

/** A TCP port on 127.0.0.1 with nothing listening (connection refused). */
export async function deadPort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const port = srv.address().port;
  await new Promise((r) => srv.close(r));
  return port;
}

// ------------------------------------------------------------------ requests
/** fetch against seam with a bounded time. */
export function rawFetch(seam, pathname, init = {}, timeoutMs = 15000) {
  return fetch(seam.origin + pathname, { ...init, signal: init.signal ?? AbortSignal.timeout(timeoutMs) });
}

/** POST raw bytes to /v1/chat/completions; resolves {status, headers, text, json}. */
export async function rawPost(seam, body, headers = {}, pathname = '/v1/chat/completions') {
  const res = await rawFetch(seam, pathname, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* leave null */
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Parses an SSE body into [{event, data}] (data joined by \n). */
export function parseSSE(text) {
  const events = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    if (!block.trim()) continue;
    let event = null;
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(':')) continue;
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length) events.push({ event, data: data.join('\n') });
  }
  return events;
}

/** Asserts an OpenAI-shaped error body {error:{message,type,param,code}}. */
export function assertOpenAIError(json, { code, messageIncludes } = {}) {
  assert.ok(json && typeof json === 'object', `expected a JSON error body, got ${JSON.stringify(json)}`);
  assert.ok(json.error && typeof json.error === 'object', `expected {error:{...}}, got ${JSON.stringify(json)}`);
  const e = json.error;
  assert.equal(typeof e.message, 'string', 'error.message is a string');
  assert.ok(e.message.length > 0, 'error.message is not empty');
  assert.equal(typeof e.type, 'string', 'error.type is a string');
  assert.ok('param' in e, 'error.param present');
  assert.ok('code' in e, 'error.code present');
  assert.ok(e.param === null || typeof e.param === 'string', 'error.param string|null');
  assert.ok(e.code === null || typeof e.code === 'string', 'error.code string|null');
  if (code !== undefined) assert.equal(e.code, code);
  if (messageIncludes !== undefined) assert.match(e.message, messageIncludes instanceof RegExp ? messageIncludes : new RegExp(messageIncludes, 'i'));
}

/** Asserts seam answers a normal (local) request, after an error case. */
export async function assertAlive(stack) {
  const id = rid();
  const r = await stack.client.chat.completions.create({
    model: 'auto',
    messages: [userMsg('internal', `still alive? [reply:yes alive]`, id)],
  });
  assert.equal(r.choices[0].message.content, 'yes alive', 'seam still answers a normal request');
  assert.ok(stack.local.find(id), 'the follow-up request reached the local upstream');
}

/** Reads the routing headers of a Response / Headers into an object. */
export function routingHeaders(response) {
  const h = response.headers ?? response;
  return {
    requestId: h.get('x-seam-request-id'),
    route: h.get('x-seam-route'),
    backend: h.get('x-seam-backend'),
    rule: h.get('x-seam-rule'),
    reason: h.get('x-seam-reason'),
    rerouted: h.get('x-seam-rerouted'),
  };
}

/** Asserts every routing header is present and one line; returns them. */
export function assertRouting(response, { route, backend, rule, rerouted } = {}) {
  const h = routingHeaders(response);
  for (const k of ['requestId', 'route', 'backend', 'rule', 'reason']) {
    assert.ok(h[k] && h[k].length > 0, `routing header ${k} present (got ${JSON.stringify(h)})`);
    assert.ok(!/[\r\n]/.test(h[k]), `routing header ${k} is one line`);
  }
  if (route !== undefined) assert.equal(h.route, route, `x-seam-route (headers ${JSON.stringify(h)})`);
  if (backend !== undefined) assert.equal(h.backend, backend, `x-seam-backend (headers ${JSON.stringify(h)})`);
  if (rule !== undefined) assert.equal(h.rule, rule, `x-seam-rule (headers ${JSON.stringify(h)})`);
  if (rerouted !== undefined) assert.equal(h.rerouted, rerouted, `x-seam-rerouted (headers ${JSON.stringify(h)})`);
  return h;
}

/** The invariant: the cloud fake never received a non-public request. */
export function assertNoViolations(cloud) {
  assert.deepEqual(cloud.violations, [], `requests that must never reach the cloud did: ${JSON.stringify(cloud.violations)}`);
}

/** Iterates an SDK stream; returns {content, chunks, usage, finish, toolCalls}. */
export async function collectStream(stream) {
  let content = '';
  const chunks = [];
  let usage = null;
  let finish = null;
  const toolCalls = [];
  for await (const ch of stream) {
    chunks.push(ch);
    if (ch.usage) usage = ch.usage;
    for (const c of ch.choices ?? []) {
      if (c.delta?.content) content += c.delta.content;
      if (c.finish_reason) finish = c.finish_reason;
      for (const tc of c.delta?.tool_calls ?? []) {
        const t = (toolCalls[tc.index] ??= { id: null, name: '', arguments: '' });
        if (tc.id) t.id = tc.id;
        if (tc.function?.name) t.name += tc.function.name;
        if (tc.function?.arguments) t.arguments += tc.function.arguments;
      }
    }
  }
  return { content, chunks, usage, finish, toolCalls };
}
