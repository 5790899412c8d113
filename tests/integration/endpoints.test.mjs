// GET /v1/models, /healthz and /readyz.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startStack,
  seamConfig,
  deadPort,
  rawFetch,
  waitUntil,
  assertNoViolations,
  assertAlive,
  LOCAL_MODEL,
  CLOUD_MODEL,
} from './helpers.mjs';

async function getJSON(seam, p) {
  const r = await rawFetch(seam, p);
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: r.status, headers: r.headers, text, json };
}

function checkReadyShape(j) {
  assert.ok(j && typeof j === 'object', 'readyz answers JSON');
  assert.equal(typeof j.ready, 'boolean', 'ready is a boolean');
  assert.ok(Array.isArray(j.backends), 'backends is an array');
  for (const b of j.backends) {
    assert.equal(typeof b.name, 'string');
    assert.ok(['local', 'cloud'].includes(b.location), `location of ${b.name}`);
    assert.equal(typeof b.up, 'boolean', `up of ${b.name}`);
    assert.ok(b.error === null || typeof b.error === 'string', `error of ${b.name} is string|null`);
  }
}

describe('endpoints: models, healthz, readyz (all backends up)', { timeout: 60000 }, () => {
  let s;
  before(async () => {
    s = await startStack();
  });
  after(async () => {
    if (s && s.seam.running) await s.stop();
  });

  it('GET /v1/models lists every configured model plus auto (SDK models.list)', async () => {
    const page = await s.client.models.list();
    const ids = page.data.map((m) => m.id).sort();
    assert.deepEqual(ids, ['auto', CLOUD_MODEL, LOCAL_MODEL].sort());
    for (const m of page.data) {
      assert.equal(m.object, 'model');
      assert.equal(typeof m.created, 'number');
      assert.equal(typeof m.owned_by, 'string');
    }
    const raw = await getJSON(s.seam, '/v1/models');
    assert.equal(raw.status, 200);
    assert.match(raw.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(raw.json.object, 'list');
    assert.ok(Array.isArray(raw.json.data));
  });

  it('GET /healthz → 200 JSON', async () => {
    const r = await getJSON(s.seam, '/healthz');
    assert.equal(r.status, 200);
    assert.ok(r.json && typeof r.json === 'object', `healthz body is JSON: ${r.text}`);
  });

  it('GET /readyz → both backends up after the first probe', async () => {
    const j = await waitUntil(
      async () => {
        const r = await getJSON(s.seam, '/readyz');
        if (!r.json || !Array.isArray(r.json.backends)) return null;
        return r.json.backends.length === 2 && r.json.backends.every((b) => b.up) ? r.json : null;
      },
      { timeoutMs: 3000, intervalMs: 100, what: 'readyz to show both backends up' },
    );
    checkReadyShape(j);
    assert.equal(j.ready, true);
    const byName = Object.fromEntries(j.backends.map((b) => [b.name, b]));
    assert.deepEqual(Object.keys(byName).sort(), ['frontier', 'local']);
    assert.equal(byName.local.location, 'local');
    assert.equal(byName.frontier.location, 'cloud');
    assert.equal(byName.local.error, null);
    assert.equal(byName.frontier.error, null);
    // The probe reached the fakes.
    assert.ok(s.local.requests.some((r) => r.method === 'GET'), 'local upstream was probed');
    assert.ok(s.cloud.requests.some((r) => r.method === 'GET'), 'cloud upstream was probed');
  });

  it('health probes carry no prompt and the local probe no API key', async () => {
    for (const r of s.local.requests.filter((x) => x.method === 'GET')) assert.equal(r.headers.authorization, undefined);
    await assertAlive(s);
  });

  it('invariant holds and seam exits 0', async () => {
    const code = await s.stop();
    assertNoViolations(s.cloud);
    assert.equal(code, 0);
  });
});

describe('readyz with a backend that is down', { timeout: 60000 }, () => {
  let s;
  before(async () => {
    const port = await deadPort();
    s = await startStack({
      extraBackends: `  - name: spare
    provider: openai
    url: http://127.0.0.1:${port}
    location: local
    models: [spare-model]
`,
      extraPools: `  spare: [spare]\n`,
    });
  });
  after(async () => {
    if (s && s.seam.running) await s.stop();
  });

  it('lists each backend with up true/false and an error for the down one', async () => {
    const j = await waitUntil(
      async () => {
        const r = await rawFetch(s.seam, '/readyz');
        const j = await r.json().catch(() => null);
        if (!j || !Array.isArray(j.backends)) return null;
        const m = Object.fromEntries(j.backends.map((b) => [b.name, b]));
        return m.local?.up === true && m.frontier?.up === true && m.spare && m.spare.up === false && typeof m.spare.error === 'string' ? j : null;
      },
      { timeoutMs: 3000, intervalMs: 100, what: 'readyz to show local+frontier up and spare down' },
    );
    checkReadyShape(j);
    assert.equal(j.backends.length, 3);
    const spare = j.backends.find((b) => b.name === 'spare');
    assert.equal(spare.location, 'local');
    assert.ok(spare.error.length > 0, 'the down backend has an error string');
  });

  it('/v1/models lists the down backend\'s model too', async () => {
    const ids = (await s.client.models.list()).data.map((m) => m.id).sort();
    assert.deepEqual(ids, ['auto', CLOUD_MODEL, LOCAL_MODEL, 'spare-model'].sort());
  });

  it('invariant holds and seam exits 0', async () => {
    const code = await s.stop();
    assertNoViolations(s.cloud);
    assert.equal(code, 0);
  });
});
