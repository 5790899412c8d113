// Embeddings end to end: the official `openai` SDK's embeddings.create (its
// default base64 float32, explicit float and explicit base64), a raw POST
// /api/embed and the `ollama` package's embed(), through seam to a fake
// Ollama (local, native /api/embed), a fake OpenAI and a fake Gemini
// (cloud, :batchEmbedContents). Every vector is checked against the fake's
// deterministic one (exact in float32), usage numbers against what the fake
// counted, and each upstream body against the provider's wire format. An
// input carrying an SSN never reaches a cloud fake, whatever model or
// dialect asked; upstream failures and unknown models answer in the client's
// own error shape.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startSeam, rid, tagged, rawPost, assertOpenAIError, assertNoViolations, CLOUD_KEY } from './helpers.mjs';
import { startFakeOpenAI, embedVector, embedTokens } from '../upstreams/fake-openai.mjs';
import { startFakeOllama } from '../upstreams/fake-ollama.mjs';
import { startFakeGemini } from '../upstreams/fake-gemini.mjs';
import { startFakeAnthropic } from '../upstreams/fake-anthropic.mjs';

const LOCAL_MODEL = 'embeddinggemma';
const OPENAI_MODEL = 'text-embedding-3-small';
const GEMINI_MODEL = 'gemini-embedding-001';
const CLAUDE_MODEL = 'claude-embed-misconfigured';
const GEMINI_KEY = 'AIza-embed-test-' + crypto.randomBytes(6).toString('hex');
const ANTHROPIC_KEY = 'sk-ant-embed-test-' + crypto.randomBytes(6).toString('hex');
const SSN = '536-22-1234'; // a valid US SSN shape: the detector flags it regulated
const DIMS = 8; // the fakes' default dimension

let ollamaModule = null;
try {
  ollamaModule = await import('ollama');
} catch {
  ollamaModule = null;
}

function config(urls) {
  return `# seam embeddings integration test config (generated)
listen: 127.0.0.1:0
workers: 2
limits: { max_body_bytes: 33554432, request_timeout_ms: 5000 }
backends:
  - name: ollama-local
    provider: ollama
    url: ${urls.ollama}
    location: local
    models: [${LOCAL_MODEL}]
    capabilities: [embeddings]
  - name: openai-cloud
    provider: openai
    url: ${urls.openai}
    location: cloud
    models: [${OPENAI_MODEL}]
    api_key_env: SEAM_TEST_CLOUD_KEY
    capabilities: [embeddings]
  - name: gemini-cloud
    provider: gemini
    url: ${urls.gemini}
    location: cloud
    models: [${GEMINI_MODEL}]
    api_key_env: SEAM_TEST_GEMINI_KEY
    capabilities: [embeddings]
  - name: claude
    provider: anthropic
    url: ${urls.anthropic}
    location: local
    models: [${CLAUDE_MODEL}]
    api_key_env: SEAM_TEST_ANTHROPIC_KEY
    capabilities: [embeddings]
pools:
  local: [ollama-local]
  cloud: [openai-cloud]
policy:
  rules:
    - { name: sensitive-stays-local, when: { sensitivity: [internal, regulated] }, route: local }
    - { name: embeddings-to-cloud, when: { kind: [embed] }, route: cloud }
  default: local
`;
}

/** What the fakes' vectors are: exact float32 values. */
const vec = (text, dims = DIMS) => embedVector(text, dims);
/** The fakes' token count for a batch. */
const tokensOf = (inputs) => inputs.reduce((n, t) => n + embedTokens(t), 0);
/** Numbers that came through JSON as shortest float32 decimals, back to float32. */
const f32 = (v) => Array.from(v, (x) => Math.fround(x));

/** A base64 float32 little-endian string as numbers. */
function fromBase64(s) {
  const b = Buffer.from(s, 'base64');
  assert.equal(b.length % 4, 0, 'base64 embedding is whole float32 values');
  const out = [];
  for (let i = 0; i < b.length; i += 4) out.push(b.readFloatLE(i));
  return out;
}

const PUBLIC = { headers: { 'X-Seam-Sensitivity': 'public' } };

describe('embeddings: /v1/embeddings and /api/embed', { timeout: 240000 }, () => {
  let seam, client;
  const fakes = {};
  before(async () => {
    fakes.ollama = await startFakeOllama({ name: 'ollama-local', model: LOCAL_MODEL });
    fakes.openai = await startFakeOpenAI({ name: 'openai-cloud', model: OPENAI_MODEL, clearance: 'public' });
    fakes.gemini = await startFakeGemini({ name: 'gemini-cloud', model: GEMINI_MODEL, apiKey: GEMINI_KEY, clearance: 'public' });
    fakes.anthropic = await startFakeAnthropic({ name: 'claude', model: CLAUDE_MODEL, apiKey: ANTHROPIC_KEY });
    seam = await startSeam(config({ ollama: fakes.ollama.url, openai: fakes.openai.url, gemini: fakes.gemini.url, anthropic: fakes.anthropic.url }), {
      env: { SEAM_TEST_GEMINI_KEY: GEMINI_KEY, SEAM_TEST_ANTHROPIC_KEY: ANTHROPIC_KEY },
    });
    client = seam.client();
  });
  after(async () => {
    try {
      for (const f of [fakes.openai, fakes.gemini]) {
        if (!f) continue;
        assertNoViolations(f);
        for (const r of f.requests) assert.ok(!r.rawBody.includes(SSN), `${f.name} received an SSN in request ${r.id}`);
      }
    } finally {
      if (seam) {
        const code = await seam.stop();
        assert.equal(code, 0, 'seam exits 0');
      }
      for (const f of Object.values(fakes)) await f.close();
    }
  });

  /** Scripts <action> on <fake> for requests carrying <id>. */
  function script(fake, id, action) {
    fake.setScript((req) => (req.rawBody.includes(id) ? action : null));
  }

  /** The embeddings POST that carried <id> to <fake>. */
  function received(fake, id) {
    const r = fake.embedRequests().find((x) => x.rawBody.includes(id));
    assert.ok(r, `${fake.name}: the embeddings request reached the fake`);
    return r;
  }

  /** Asserts no fake but <except> saw <id>. */
  function onlyReached(except, id) {
    for (const f of Object.values(fakes)) {
      if (f === except) continue;
      assert.ok(!f.requests.some((r) => r.rawBody.includes(id)), `${f.name} must not have received ${id}`);
    }
  }

  describe('OpenAI SDK', () => {
    it('default encoding (base64 float32) to local Ollama: exact vectors, usage, native /api/embed', async () => {
      const id = rid();
      const inputs = [`[${id}] the quick brown fox`, `[${id}] jumps over the lazy dog`, `[${id}] ünïcödé 🎉`];
      const { data: r, response } = await client.embeddings.create({ model: 'auto', input: inputs, user: 'u-1' }).withResponse();
      assert.equal(response.headers.get('x-seam-route'), 'local');
      assert.equal(response.headers.get('x-seam-backend'), 'ollama-local');
      assert.equal(r.object, 'list');
      assert.equal(r.data.length, inputs.length);
      r.data.forEach((d, i) => {
        assert.equal(d.object, 'embedding');
        assert.equal(d.index, i);
        assert.deepEqual(Array.from(d.embedding), vec(inputs[i]), `vector ${i} is the fake's, bit for bit`);
      });
      assert.equal(r.model, LOCAL_MODEL);
      const n = tokensOf(inputs);
      assert.deepEqual(r.usage, { prompt_tokens: n, total_tokens: n });

      const up = received(fakes.ollama, id);
      assert.equal(up.path, '/api/embed', 'Ollama is reached on its native endpoint');
      assert.equal(up.body.model, LOCAL_MODEL);
      assert.deepEqual(up.body.input, inputs);
      for (const k of ['encoding_format', 'user', 'seam', 'dimensions', 'truncate']) assert.ok(!(k in up.body), `${k} is not sent to Ollama`);
      onlyReached(fakes.ollama, id);
    });

    it('explicit float with dimensions to cloud OpenAI: float32-exact numbers, passthrough, key', async () => {
      const id = rid();
      const inputs = [tagged('public', 'alpha beta', id), tagged('public', 'gamma', id)];
      const { data: r, response } = await client.embeddings
        .create({ model: 'auto', input: inputs, encoding_format: 'float', dimensions: 16, user: 'user-7' }, PUBLIC)
        .withResponse();
      assert.equal(response.headers.get('x-seam-route'), 'cloud');
      assert.equal(response.headers.get('x-seam-backend'), 'openai-cloud');
      assert.equal(response.headers.get('x-seam-rule'), 'embeddings-to-cloud');
      assert.equal(r.data.length, 2);
      r.data.forEach((d, i) => {
        assert.ok(Array.isArray(d.embedding), 'float encoding is an array of numbers');
        assert.equal(d.embedding.length, 16);
        assert.deepEqual(f32(d.embedding), vec(inputs[i], 16));
      });
      assert.equal(r.model, OPENAI_MODEL);
      const n = tokensOf(inputs);
      assert.deepEqual(r.usage, { prompt_tokens: n, total_tokens: n });

      const up = received(fakes.openai, id);
      assert.equal(up.path, '/v1/embeddings');
      assert.deepEqual(up.body, { model: OPENAI_MODEL, input: inputs, encoding_format: 'float', dimensions: 16, user: 'user-7' });
      assert.equal(up.headers.authorization, `Bearer ${CLOUD_KEY}`);
      onlyReached(fakes.openai, id);
    });

    it('explicit base64 to cloud: the raw string decodes to the exact vector; one string input', async () => {
      const id = rid();
      const input = tagged('public', 'a single string input', id);
      const r = await client.embeddings.create({ model: OPENAI_MODEL, input, encoding_format: 'base64' }, PUBLIC);
      assert.equal(r.data.length, 1);
      assert.equal(typeof r.data[0].embedding, 'string');
      assert.deepEqual(fromBase64(r.data[0].embedding), vec(input));
      // seam asks its upstream for floats whatever the client wants.
      assert.equal(received(fakes.openai, id).body.encoding_format, 'float');
    });

    it('pinned Gemini model: batchEmbedContents, outputDimensionality, x-goog-api-key', async () => {
      const id = rid();
      const inputs = [tagged('public', 'first', id), tagged('public', 'second', id)];
      const { data: r, response } = await client.embeddings.create({ model: GEMINI_MODEL, input: inputs, dimensions: 4 }, PUBLIC).withResponse();
      assert.equal(response.headers.get('x-seam-backend'), 'gemini-cloud');
      r.data.forEach((d, i) => assert.deepEqual(Array.from(d.embedding), vec(inputs[i], 4)));
      assert.equal(r.model, GEMINI_MODEL);
      // Gemini counts no tokens; seam reports its own estimate.
      assert.ok(Number.isInteger(r.usage.prompt_tokens) && r.usage.prompt_tokens > 0, `estimated prompt tokens (${r.usage.prompt_tokens})`);
      assert.equal(r.usage.total_tokens, r.usage.prompt_tokens);

      const up = received(fakes.gemini, id);
      assert.equal(up.path, `/v1beta/models/${GEMINI_MODEL}:batchEmbedContents`);
      assert.equal(up.headers['x-goog-api-key'], GEMINI_KEY);
      assert.equal(up.validation, undefined, `the fake accepted the body (${up.validation})`);
      assert.deepEqual(up.body, {
        requests: inputs.map((text) => ({ model: `models/${GEMINI_MODEL}`, content: { parts: [{ text }] }, outputDimensionality: 4 })),
      });
      onlyReached(fakes.gemini, id);
    });

    it('a batch of 300 inputs keeps its order', async () => {
      const id = rid();
      const inputs = Array.from({ length: 300 }, (_, i) => `[${id}] item number ${i}`);
      const r = await client.embeddings.create({ model: 'auto', input: inputs });
      assert.equal(r.data.length, 300);
      r.data.forEach((d, i) => {
        assert.equal(d.index, i);
        assert.deepEqual(Array.from(d.embedding), vec(inputs[i]));
      });
    });
  });

  describe('Ollama dialect', () => {
    it('raw POST /api/embed to local: Ollama shape, durations, options forwarded', async () => {
      const id = rid();
      const inputs = [`[${id}] why is the sky blue?`, `[${id}] why is grass green?`];
      const res = await rawPost(seam, JSON.stringify({ model: 'auto', input: inputs, truncate: true, keep_alive: '1m', options: { num_ctx: 512 }, dimensions: 6 }), {}, '/api/embed');
      assert.equal(res.status, 200, res.text);
      assert.match(res.headers.get('content-type'), /application\/json/);
      assert.equal(res.headers.get('x-seam-route'), 'local');
      const j = res.json;
      assert.equal(j.model, LOCAL_MODEL);
      assert.equal(j.embeddings.length, 2);
      j.embeddings.forEach((e, i) => assert.deepEqual(f32(e), vec(inputs[i], 6)));
      assert.equal(j.prompt_eval_count, tokensOf(inputs));
      assert.ok(Number.isInteger(j.total_duration) && j.total_duration > 0, `total_duration in ns (${j.total_duration})`);
      assert.equal(j.load_duration, 0);

      const up = received(fakes.ollama, id);
      assert.deepEqual(up.body, { model: LOCAL_MODEL, input: inputs, truncate: true, dimensions: 6, keep_alive: '1m', options: { num_ctx: 512 } });
    });

    it('raw POST /api/embed declared public goes to cloud OpenAI; Ollama-only fields stay home', async () => {
      const id = rid();
      const input = tagged('public', 'embed me in the cloud', id);
      const res = await rawPost(seam, JSON.stringify({ model: 'auto', input, truncate: false, keep_alive: '5m' }), { 'X-Seam-Sensitivity': 'public' }, '/api/embed');
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers.get('x-seam-backend'), 'openai-cloud');
      assert.equal(res.json.model, OPENAI_MODEL);
      assert.deepEqual(f32(res.json.embeddings[0]), vec(input));
      assert.equal(res.json.prompt_eval_count, tokensOf([input]));
      const up = received(fakes.openai, id);
      assert.deepEqual(up.body, { model: OPENAI_MODEL, input: [input], encoding_format: 'float' });
    });

    it('the ollama package: embed()', { skip: !ollamaModule && 'the ollama package is not installed' }, async () => {
      const { Ollama } = ollamaModule;
      const ollama = new Ollama({ host: seam.origin });
      const id = rid();
      const inputs = [`[${id}] one`, `[${id}] two`];
      const r = await ollama.embed({ model: 'auto', input: inputs, truncate: true });
      assert.equal(r.model, LOCAL_MODEL);
      assert.equal(r.embeddings.length, 2);
      r.embeddings.forEach((e, i) => assert.deepEqual(f32(e), vec(inputs[i])));
      assert.equal(r.prompt_eval_count, tokensOf(inputs));
      assert.equal(received(fakes.ollama, id).body.truncate, true);

      const one = await ollama.embed({ model: 'auto', input: `[${id}] three` });
      assert.deepEqual(f32(one.embeddings[0]), vec(`[${id}] three`));

      await assert.rejects(
        ollama.embed({ model: 'no-such-embedder', input: 'x' }),
        (e) => e.status_code === 404 && typeof e.error === 'string' && e.error.length > 0,
      );
    });
  });

  describe('regulated inputs never leave', () => {
    it('an SSN in one input of a batch pinned to cloud OpenAI: rerouted local, cloud untouched', async () => {
      const id = rid();
      const inputs = [tagged('public', 'harmless text', id), tagged('regulated', `customer ssn ${SSN}`, id)];
      const { data: r, response } = await client.embeddings.create({ model: OPENAI_MODEL, input: inputs }, PUBLIC).withResponse();
      assert.equal(response.headers.get('x-seam-route'), 'local');
      assert.equal(response.headers.get('x-seam-backend'), 'ollama-local');
      assert.match(response.headers.get('x-seam-detected') ?? '', /US_SSN=1/);
      r.data.forEach((d, i) => assert.deepEqual(Array.from(d.embedding), vec(inputs[i])));
      assert.ok(received(fakes.ollama, id));
      onlyReached(fakes.ollama, id);
    });

    it('an SSN via the policy (auto, declared public) and via the Gemini model: local both times', async () => {
      const id = rid();
      const input = tagged('regulated', `ssn ${SSN} on file`, id);
      const a = await client.embeddings.create({ model: 'auto', input }, PUBLIC).withResponse();
      assert.equal(a.response.headers.get('x-seam-route'), 'local');
      const b = await client.embeddings.create({ model: GEMINI_MODEL, input, encoding_format: 'float' }, PUBLIC).withResponse();
      assert.equal(b.response.headers.get('x-seam-route'), 'local');
      assert.deepEqual(f32(b.data.data[0].embedding), vec(input));
      const c = await rawPost(seam, JSON.stringify({ model: 'auto', input: [input] }), { 'X-Seam-Sensitivity': 'public' }, '/api/embed');
      assert.equal(c.status, 200, c.text);
      assert.equal(c.headers.get('x-seam-route'), 'local');
      onlyReached(fakes.ollama, id);
    });
  });

  describe('errors', () => {
    it('upstream 500 from cloud OpenAI: 502 in OpenAI shape (SDK and raw)', async () => {
      const id = rid();
      script(fakes.openai, id, { type: 'error', status: 500, message: 'embedding engine exploded' });
      try {
        const input = tagged('public', 'fails upstream', id);
        await assert.rejects(client.embeddings.create({ model: OPENAI_MODEL, input }, PUBLIC), (e) => e.status === 502 && e.type === 'upstream_error');
        const res = await rawPost(seam, JSON.stringify({ model: OPENAI_MODEL, input }), { 'X-Seam-Sensitivity': 'public' }, '/v1/embeddings');
        assert.equal(res.status, 502);
        assertOpenAIError(res.json, { messageIncludes: 'openai-cloud' });
      } finally {
        fakes.openai.setScript(null);
      }
    });

    it('upstream 500 from Ollama on /api/embed: 502 as {"error": "..."}', async () => {
      const id = rid();
      script(fakes.ollama, id, { type: 'error', status: 500, message: 'model runner crashed' });
      try {
        const res = await rawPost(seam, JSON.stringify({ model: 'auto', input: `[${id}] boom` }), {}, '/api/embed');
        assert.equal(res.status, 502);
        assert.equal(typeof res.json?.error, 'string', `Ollama error shape: ${res.text}`);
        assert.match(res.json.error, /ollama-local/);
      } finally {
        fakes.ollama.setScript(null);
      }
    });

    it('malformed upstream answers (garbage, ragged, a vector short) are 502', async () => {
      for (const [fake, model, action] of [
        [fakes.ollama, 'auto', { type: 'garbage' }],
        [fakes.ollama, 'auto', { type: 'ragged' }],
        [fakes.gemini, GEMINI_MODEL, { type: 'ragged' }],
        [fakes.openai, OPENAI_MODEL, { type: 'garbage' }],
        [fakes.openai, OPENAI_MODEL, { vectors: [[0.5, 0.25]] }], // one vector for two inputs
      ]) {
        const id = rid();
        script(fake, id, action);
        try {
          const inputs = [tagged('public', 'first', id), tagged('public', 'second', id)];
          // Undeclared requests are internal and stay local; the cloud ones declare public.
          const headers = fake === fakes.ollama ? {} : { 'X-Seam-Sensitivity': 'public' };
          const res = await rawPost(seam, JSON.stringify({ model, input: inputs }), headers, '/v1/embeddings');
          assert.equal(res.status, 502, `${fake.name} ${JSON.stringify(action)}: ${res.text}`);
          assertOpenAIError(res.json);
        } finally {
          fake.setScript(null);
        }
      }
    });

    it('unknown model: 404 in both dialects', async () => {
      await assert.rejects(client.embeddings.create({ model: 'no-such-embedder', input: 'x' }), (e) => e.status === 404 && e.code === 'model_not_found');
      const res = await rawPost(seam, JSON.stringify({ model: 'no-such-embedder', input: 'x' }), {}, '/api/embed');
      assert.equal(res.status, 404);
      assert.equal(typeof res.json?.error, 'string', res.text);
    });

    it('invalid requests: token arrays, empty input, bad encoding_format, bad truncate', async () => {
      await assert.rejects(client.embeddings.create({ model: 'auto', input: [[1, 2, 3]] }), (e) => e.status === 400 && e.param === 'input' && /token arrays is not supported/.test(e.message));
      await assert.rejects(client.embeddings.create({ model: 'auto', input: [1, 2, 3] }), (e) => e.status === 400 && e.param === 'input');
      await assert.rejects(client.embeddings.create({ model: 'auto', input: [] }), (e) => e.status === 400 && e.param === 'input');
      await assert.rejects(client.embeddings.create({ model: 'auto', input: 'x', encoding_format: 'int8' }), (e) => e.status === 400 && e.param === 'encoding_format');
      const r = await rawPost(seam, JSON.stringify({ model: 'auto', input: 'x', truncate: 'yes' }), {}, '/api/embed');
      assert.equal(r.status, 400);
      assert.match(r.json?.error ?? '', /truncate/);
      // None of them reached a backend.
      for (const f of Object.values(fakes)) assert.ok(!f.requests.some((q) => q.rawBody.includes('"truncate":"yes"')));
    });

    it('a backend of a provider without embeddings (Anthropic) refuses clearly', async () => {
      const res = await rawPost(seam, JSON.stringify({ model: CLAUDE_MODEL, input: 'x' }), {}, '/v1/embeddings');
      assert.equal(res.status, 400, res.text);
      assertOpenAIError(res.json, { messageIncludes: 'backend claude \\(anthropic\\) cannot embed' });
      assert.equal(fakes.anthropic.requests.filter((r) => r.method === 'POST').length, 0, 'nothing was sent to Anthropic');
    });

    it('seam still answers after the failures', async () => {
      const id = rid();
      const r = await client.embeddings.create({ model: 'auto', input: `[${id}] still alive` });
      assert.deepEqual(Array.from(r.data[0].embedding), vec(`[${id}] still alive`));
    });
  });
});
