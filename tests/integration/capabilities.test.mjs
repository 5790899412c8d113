// Capabilities, context windows and a rule's `set` (issue 4, points 4-6):
// `seam check --probe` against fake Ollama and OpenAI servers (agreement,
// disagreement warnings, an unreachable backend, keys never printed); routing
// that skips a backend without a needed capability or without room for the
// request (400 context_length_exceeded when nothing is left); a rule that
// dials reasoning and caps max_tokens, with the client's explicit choice
// winning unless the rule forces; and `seam route` showing all of it.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startFakeOllama } from '../upstreams/fake-ollama.mjs';
import {
  startFakeOpenAI,
  startSeam,
  runSeam as run,
  writeConfig,
  deadPort,
  rid,
  tagged,
  rawPost,
  assertRouting,
  assertOpenAIError,
  binaryMissing,
} from './helpers.mjs';

const MODEL = 'gemma4:31b';
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

/** Runs seam and fails on any sanitizer report (when SEAM_BIN is an ASan build). */
async function runSeam(args, opts) {
  const r = await run(args, opts);
  assert.equal(r.sanitizer, null, `sanitizer report from seam ${args.join(' ')}`);
  return r;
}

/** A backends + pools config for check --probe. */
function probeConfig(backends) {
  const names = backends.map((b) => /name: ([\w.-]+)/.exec(b)[1]);
  return `backends:\n${backends.map((b) => `  - ${b}\n`).join('')}pools:\n  local: [${names.join(', ')}]\n`;
}

describe('seam check --probe', { timeout: 60000, skip: binaryMissing() }, () => {
  let ollama, openai, stingy;
  before(async () => {
    ollama = await startFakeOllama({ name: 'ollama', model: MODEL, contextLength: 131072 });
    // A server whose model cannot see and has a smaller window than claimed.
    stingy = await startFakeOllama({ name: 'stingy', model: MODEL, contextLength: 8192, capabilities: ['completion', 'tools'] });
    openai = await startFakeOpenAI({ name: 'openai', model: 'gpt-5.1' });
  });
  after(async () => {
    await ollama?.close();
    await stingy?.close();
    await openai?.close();
  });

  it('exits 0 and lists what each server reports when configuration and servers agree', async () => {
    const file = writeConfig(
      probeConfig([
        `{ name: ol, provider: ollama, url: ${ollama.url}, location: local, models: [${MODEL}], capabilities: [vision, tools, thinking], context_window: 131072 }`,
        `{ name: oa, provider: openai, url: ${openai.url}, location: local, models: [gpt-5.1] }`,
      ]),
      'probe-ok',
    );
    const r = await runSeam(['check', '-c', file, '--probe']);
    assert.equal(r.code, 0, `exit ${r.code}:\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /backend ol \(ollama, .*\): reachable/);
    assert.match(r.stdout, /backend oa \(openai, .*\): reachable/);
    assert.match(r.stdout, /gemma4:31b: served; capabilities \[vision, tools, thinking\]; context length 131072/);
    assert.match(r.stdout, /server models: gpt-5\.1/);
    assert.ok(!r.stdout.includes('WARN'), r.stdout);
    // What was asked: the tags, then /api/show for the configured model.
    assert.ok(ollama.requests.some((q) => q.method === 'GET' && q.path === '/api/tags'));
    const show = ollama.requests.find((q) => q.method === 'POST' && q.path === '/api/show');
    assert.deepEqual(show?.body, { model: MODEL });
    assert.ok(openai.requests.some((q) => q.method === 'GET' && q.path === '/v1/models'));

    const j = await runSeam(['check', '-c', file, '--probe', '--json']);
    assert.equal(j.code, 0, j.stderr);
    const doc = JSON.parse(j.stdout);
    assert.equal(doc.ok, true);
    const [ol, oa] = doc.backends;
    assert.equal(ol.backend, 'ol');
    assert.equal(ol.reachable, true);
    assert.deepEqual(ol.models, [MODEL]);
    assert.deepEqual(ol.configured, [{ model: MODEL, found: true, capabilities: ['vision', 'tools', 'thinking'], context_length: 131072 }]);
    assert.deepEqual(ol.warnings, []);
    assert.deepEqual(oa.models, ['gpt-5.1']);
    assert.deepEqual(oa.configured, [{ model: 'gpt-5.1', found: true }]);
  });

  it('warns and exits 1 when the configuration claims what the server does not have', async () => {
    const file = writeConfig(
      probeConfig([
        `{ name: st, provider: ollama, url: ${stingy.url}, location: local, models: [${MODEL}, llama9:70b], capabilities: [vision, tools], context_window: 262144 }`,
        `{ name: oa, provider: openai, url: ${openai.url}, location: local, models: [gpt-5.1, gpt-nope] }`,
      ]),
      'probe-disagree',
    );
    const r = await runSeam(['check', '-c', file, '--probe']);
    assert.equal(r.code, 1, `exit ${r.code}:\n${r.stdout}${r.stderr}`);
    const warns = r.stdout.split('\n').filter((l) => l.includes('WARN'));
    assert.ok(warns.some((l) => /WARN st: capabilities lists vision but the server does not report it for model gemma4:31b/.test(l)), r.stdout);
    assert.ok(warns.some((l) => /WARN st: context_window 262144 is larger than .* gemma4:31b \(8192\)/.test(l)), r.stdout);
    assert.ok(warns.some((l) => /WARN st: model llama9:70b is configured but the server does not have it/.test(l)), r.stdout);
    assert.ok(warns.some((l) => /WARN oa: model gpt-nope is configured but the server does not have it/.test(l)), r.stdout);
    assert.equal(warns.length, 4, r.stdout);
    assert.ok(!warns.some((l) => /tools/.test(l)), 'a capability the server reports is no warning');

    const j = await runSeam(['check', '-c', file, '--probe', '--json']);
    assert.equal(j.code, 1);
    const doc = JSON.parse(j.stdout);
    assert.equal(doc.ok, false);
    assert.equal(doc.backends[0].warnings.length, 3);
    assert.deepEqual(doc.backends[0].configured[1], { model: 'llama9:70b', found: false });
  });

  it('undeclared capabilities are noted, not warned about', async () => {
    const file = writeConfig(probeConfig([`{ name: ol, provider: ollama, url: ${ollama.url}, location: local, models: [${MODEL}] }`]), 'probe-note');
    const r = await runSeam(['check', '-c', file, '--probe']);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /note: capabilities not declared .* \[vision, tools, thinking\] for model gemma4:31b/);
  });

  it('reports an unreachable backend and a backend whose key is unset, exit 1', async () => {
    const port = await deadPort();
    const file = writeConfig(
      probeConfig([
        `{ name: dead, provider: ollama, url: http://127.0.0.1:${port}, location: local, models: [${MODEL}] }`,
        `{ name: keyless, provider: openai, url: ${openai.url}, location: cloud, models: [gpt-5.1], api_key_env: SEAM_TEST_PROBE_UNSET }`,
        `{ name: oa, provider: openai, url: ${openai.url}, location: local, models: [gpt-5.1] }`,
      ]),
      'probe-dead',
    );
    const r = await runSeam(['check', '-c', file, '--probe'], { env: { SEAM_TEST_PROBE_UNSET: '' } });
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /backend dead \(ollama, .*\): UNREACHABLE: GET \/api\/tags failed/);
    assert.match(r.stdout, /backend keyless .*: NOT PROBED: environment variable SEAM_TEST_PROBE_UNSET/);
    assert.match(r.stdout, /backend oa .*: reachable/);
    assert.match(r.stdout, /1 of 3 backends reachable/);
  });

  it('sends the API key but never prints it, even when the server echoes it', async () => {
    const key = 'sk-probe-secret-' + rid();
    const seen = [];
    const srv = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${req.headers.authorization}`, type: 'invalid_request_error', code: 'invalid_api_key' } }));
    });
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const file = writeConfig(
        probeConfig([`{ name: echo, provider: openai, url: http://127.0.0.1:${srv.address().port}, location: cloud, models: [m], api_key_env: SEAM_TEST_PROBE_KEY }`]),
        'probe-key',
      );
      for (const args of [['--probe'], ['--probe', '--json']]) {
        const r = await runSeam(['check', '-c', file, ...args], { env: { SEAM_TEST_PROBE_KEY: key } });
        assert.equal(r.code, 1);
        assert.ok(!(r.stdout + r.stderr).includes(key), `the key leaked:\n${r.stdout}${r.stderr}`);
        assert.match(r.stdout, /HTTP 401: Incorrect API key provided: Bearer \*\*\*/);
      }
      assert.equal(seen[0], `Bearer ${key}`, 'the probe authenticates');
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });

  it('an invalid configuration exits 2 before probing anything', async () => {
    const file = writeConfig(probeConfig([`{ name: ol, provider: ollama, url: ${ollama.url}, location: local, models: [m], capabilities: [sight] }`]), 'probe-bad');
    const before = ollama.requests.length;
    const r = await runSeam(['check', '-c', file, '--probe']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /capabilities\[0\]': expected one of vision, tools, thinking, embeddings, got 'sight'/);
    assert.equal(ollama.requests.length, before);
  });
});

/** The serving config: two local backends in one pool, the first text-only. */
function servingConfig({ text, vision, rules = '', textWindow = 4000, visionWindow = 8000 }) {
  return `listen: 127.0.0.1:0
workers: 1
backends:
  - { name: text-only, provider: openai, url: ${text}, location: local, models: [text-model], capabilities: [tools], context_window: ${textWindow} }
  - { name: seeing, provider: openai, url: ${vision}, location: local, models: [vision-model], capabilities: [vision, tools, thinking], context_window: ${visionWindow} }
pools:
  local: [text-only, seeing]
  seeing: [seeing]
policy:
  rules:
${rules}    - { name: everything-local, route: local }
  default: local
`;
}

describe('routing by capability and context window', { timeout: 60000, skip: binaryMissing() }, () => {
  let text, vision, seam;
  before(async () => {
    text = await startFakeOpenAI({ name: 'text', model: 'text-model' });
    vision = await startFakeOpenAI({ name: 'vision', model: 'vision-model' });
    seam = await startSeam(servingConfig({ text: text.url, vision: vision.url }));
  });
  after(async () => {
    await seam?.stop();
    await text?.close();
    await vision?.close();
  });

  it('a request without an image takes the first backend of the pool', async () => {
    const id = rid();
    const r = await rawPost(seam, JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: tagged('internal', 'hi', id) }] }));
    assert.equal(r.status, 200, r.text);
    assertRouting(r, { backend: 'text-only' });
    assert.ok(text.find(id));
  });

  it('a request with an image skips the backend without vision', async () => {
    const id = rid();
    const body = {
      model: 'auto',
      messages: [{ role: 'user', content: [{ type: 'text', text: tagged('internal', 'what is this?', id) }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] }],
    };
    const r = await rawPost(seam, JSON.stringify(body));
    assert.equal(r.status, 200, r.text);
    assertRouting(r, { backend: 'seeing' });
    assert.ok(vision.find(id), 'the vision backend got it');
    assert.equal(text.find(id), undefined, 'the text-only backend never saw it');
  });

  it('a request larger than one window goes to the larger one', async () => {
    const id = rid();
    // ~5000 tokens: over text-only's 4000, under seeing's 8000.
    const r = await rawPost(seam, JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: tagged('internal', 'x'.repeat(20000), id) }] }));
    assert.equal(r.status, 200, r.text);
    assertRouting(r, { backend: 'seeing' });
  });

  it('a request larger than every allowed window is a 400 context_length_exceeded', async () => {
    const id = rid();
    const r = await rawPost(seam, JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: tagged('internal', 'x'.repeat(40000), id) }] }));
    assert.equal(r.status, 400, r.text);
    assertOpenAIError(r.json, { code: 'context_length_exceeded', messageIncludes: /8000/ });
    assert.equal(text.find(id), undefined);
    assert.equal(vision.find(id), undefined);
    // The requested output counts too.
    const small = await rawPost(seam, JSON.stringify({ model: 'auto', max_tokens: 9000, messages: [{ role: 'user', content: tagged('internal', 'hi', rid()) }] }));
    assert.equal(small.status, 400, small.text);
    assertOpenAIError(small.json, { code: 'context_length_exceeded' });
  });
});

describe('a rule dials reasoning and caps max_tokens', { timeout: 60000, skip: binaryMissing() }, () => {
  let text, vision, seam;
  const rules = `    - { name: quick, when: { kind: [classify] }, route: seeing, set: { reasoning: off, max_tokens_cap: 64 } }
    - { name: deep, when: { kind: [draft] }, route: seeing, set: { reasoning: high } }
    - { name: forced, when: { kind: [code] }, route: seeing, set: { reasoning: off, force: true } }
`;
  before(async () => {
    text = await startFakeOpenAI({ name: 'text', model: 'text-model' });
    vision = await startFakeOpenAI({ name: 'vision', model: 'vision-model' });
    seam = await startSeam(servingConfig({ text: text.url, vision: vision.url, rules, visionWindow: 100000 }));
  });
  after(async () => {
    await seam?.stop();
    await text?.close();
    await vision?.close();
  });

  /** Sends a chat request of <kind>; returns {r, up} with up = the body the fake received. */
  async function send(kind, extra = {}) {
    const id = rid();
    const r = await rawPost(seam, JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: tagged('internal', 'label this', id) }], ...extra }), { 'X-Seam-Kind': kind });
    assert.equal(r.status, 200, r.text);
    const up = vision.find(id);
    assert.ok(up, 'the backend received the request');
    return { r, up: up.body };
  }

  it('reasoning off: the backend is asked not to think, and max_tokens is capped', async () => {
    const { r, up } = await send('classify');
    assertRouting(r, { rule: 'quick' });
    assert.equal(up.reasoning_effort, 'none', `body: ${JSON.stringify(up)}`);
    assert.equal(up.max_completion_tokens, 64);
    assert.equal(r.headers.get('x-seam-set'), 'reasoning=off,max_tokens<=64');
    // A larger client max_tokens is lowered, a smaller one kept.
    assert.equal((await send('classify', { max_tokens: 5000 })).up.max_tokens, 64);
    const kept = await send('classify', { max_tokens: 10 });
    assert.equal(kept.up.max_tokens, 10);
  });

  it('force: false lets the client\'s explicit reasoning_effort win', async () => {
    const { r, up } = await send('classify', { reasoning_effort: 'high' });
    assert.equal(up.reasoning_effort, 'high', `body: ${JSON.stringify(up)}`);
    assert.equal(r.headers.get('x-seam-set'), 'max_tokens<=64');
  });

  it('a rule turns reasoning on for clients that did not choose', async () => {
    const { up } = await send('draft');
    assert.equal(up.reasoning_effort, 'high');
    const chose = await send('draft', { reasoning_effort: 'low' });
    assert.equal(chose.up.reasoning_effort, 'low');
  });

  it('force: true overrides the client', async () => {
    const { r, up } = await send('code', { reasoning_effort: 'high' });
    assert.equal(up.reasoning_effort, 'none', `body: ${JSON.stringify(up)}`);
    assert.equal(r.headers.get('x-seam-set'), 'reasoning=off');
  });

  it('a rule without set changes nothing', async () => {
    const id = rid();
    const r = await rawPost(seam, JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: tagged('internal', 'hi', id) }] }), { 'X-Seam-Kind': 'chat' });
    assert.equal(r.status, 200, r.text);
    const up = text.find(id).body;
    assert.equal(up.reasoning_effort, undefined);
    assert.equal(up.max_completion_tokens, undefined);
    assert.equal(r.headers.get('x-seam-set'), null);
  });
});

describe('seam route shows capabilities, windows and set', { timeout: 60000, skip: binaryMissing() }, () => {
  const rules = `    - { name: quick, when: { kind: [classify] }, route: local, set: { reasoning: off, max_tokens_cap: 64 } }
`;
  const file = () => writeConfig(servingConfig({ text: 'http://127.0.0.1:1', vision: 'http://127.0.0.1:2', rules }), 'route-caps');

  it('--json: backend by capability, set, and status 400 for a request too large', async () => {
    const lines = [
      { kind: 'chat', tokens: 10 },
      { kind: 'chat', tokens: 10, has_images: true },
      { kind: 'chat', tokens: 5000 },
      { kind: 'chat', tokens: 9000 },
      { kind: 'classify', tokens: 10 },
      { kind: 'classify', tokens: 10, reasoning: 'high' },
      { model: 'auto', messages: [{ role: 'user', content: [{ type: 'text', text: 'see' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] }] },
    ];
    const r = await runSeam(['route', '-c', file(), '--json', '-'], { input: lines.map((l) => JSON.stringify(l)).join('\n') + '\n' });
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(out.length, lines.length, r.stdout);
    assert.equal(out[0].backend, 'text-only');
    assert.equal(out[1].backend, 'seeing');
    assert.equal(out[2].backend, 'seeing');
    assert.equal(out[3].backend, null);
    assert.equal(out[3].status, 400);
    assert.match(out[3].reason, /request needs ~9000 tokens; the largest context window among allowed backends is 8000 \(seeing\)/);
    assert.equal(out[4].set, 'reasoning=off,max_tokens<=64');
    assert.equal(out[5].set, 'max_tokens<=64', 'the explicit choice wins');
    assert.equal(out[6].backend, 'seeing');
  });

  it('plain output carries set= and status=', async () => {
    const r = await runSeam(['route', '-c', file(), '-'], { input: '{"kind":"classify","tokens":10}\n{"kind":"chat","tokens":9000}\n' });
    const [a, b] = r.stdout.trim().split('\n');
    assert.match(a, / set=reasoning=off,max_tokens<=64 /);
    assert.match(b, / status=400 /);
  });
});
