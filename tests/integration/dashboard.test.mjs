// The dashboard end to end, in Debian's headless Chromium driven by
// playwright-core: a seam with fakes and the ledger on serves mixed traffic
// (local, cloud, a regulated request, a detected SSN, an upstream error, a
// malformed request). /admin/stats must hold exactly what was sent; the page
// (after logging in with the admin key) must show every one of those numbers
// in its panels; live updates must arrive over server-sent events (and by
// polling when events are blocked); the "why" view must explain a known
// request; no prompt text may appear anywhere; without the admin key the page
// and the JSON are refused; the page logs no console errors and loads fast.
// Screenshots (1280x800 light, phone dark) go to $TMPDIR/seam-dashboard-artifacts.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, seamConfig, tmpDir, rid, tagged, rawFetch, waitUntil, assertNoViolations, CLOUD_KEY_ENV } from './helpers.mjs';

const CHROMIUM = process.env.SEAM_CHROMIUM || '/usr/bin/chromium';
const ADMIN_ENV = 'SEAM_DASH_ADMIN';
const ADMIN_KEY = 'sk-admin-' + crypto.randomBytes(12).toString('hex');
const PRICE = { input: 1.25, output: 10.0 };
// In every prompt; must never show up in the page or the JSON.
const SECRET = 'dashboard-prompt-text-never-shown';
const SSN = '536-22-1234';
const CLOUD_TASK = { 'X-Seam-Kind': 'draft', 'X-Seam-Sensitivity': 'public', 'X-Seam-Complexity': 'high' };
export const ARTIFACTS = path.join(os.tmpdir(), 'seam-dashboard-artifacts');

const skip = fs.existsSync(CHROMIUM) ? false : `chromium is not installed at ${CHROMIUM} (scripts/install-deps.sh installs Debian's chromium)`;

// The page's formatting, written again here: the test checks the text the
// reader sees, not only the raw values.
const fmt = {
  int: (n) => (n === null || n === undefined ? '–' : Math.round(n).toLocaleString('en-US')),
  usd: (x) => (x === null || x === undefined ? '–' : (x < 0 ? '−$' : '$') + Math.abs(x).toFixed(Math.abs(x) >= 100 ? 2 : 4)),
  ms: (x) => (x === null || x === undefined ? '–' : x < 10 ? x.toFixed(2) : x < 1000 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US')),
};
const near = (a, b) => Math.abs(a - b) <= 1e-9 + 1e-6 * Math.abs(b);

function config(db) {
  return ({ local, cloud }) =>
    seamConfig({ local, cloud, workers: 2 })
      .replace(`    api_key_env: ${CLOUD_KEY_ENV}\n`, `    api_key_env: ${CLOUD_KEY_ENV}\n    price: { input_per_mtok: ${PRICE.input}, output_per_mtok: ${PRICE.output} }\n`)
      .replace('    context_window: 262144\n', '    context_window: 262144\n    hardware: { capex_usd: 6000, amortize_months: 36, watts: 350, usd_per_kwh: 0.15 }\n') +
    `auth:\n  admin_key_env: ${ADMIN_ENV}\nstate:\n  sqlite: ${db}\n  batch_ms: 20\nreport:\n  reference_backend: frontier\n`;
}

/** One request; resolves what the client saw. */
async function send(seam, what) {
  const marker = rid();
  let headers = { 'content-type': 'application/json' };
  let text;
  let body;
  switch (what) {
    case 'local':
      headers = { ...headers, 'X-Seam-Sensitivity': 'internal' };
      text = tagged('internal', `${SECRET} local [reply:ok]`, marker);
      break;
    case 'cloud':
      headers = { ...headers, ...CLOUD_TASK };
      text = tagged('public', `${SECRET} cloud [reply:ok]`, marker);
      break;
    case 'regulated':
      headers = { ...headers, 'X-Seam-Sensitivity': 'regulated' };
      text = tagged('regulated', `${SECRET} regulated [reply:ok]`, marker);
      break;
    case 'ssn':
      // Nothing declared: the detector raises it to regulated.
      text = tagged('regulated', `${SECRET} my SSN is ${SSN} [reply:ok]`, marker);
      break;
    case 'fail':
      headers = { ...headers, 'X-Seam-Sensitivity': 'internal' };
      text = tagged('internal', `${SECRET} [fail500]`, marker);
      break;
    case 'malformed':
      body = `{"model":"auto","messages":[{"role":"user","content":"${SECRET}"}],`;
      break;
    default:
      throw new Error(what);
  }
  body ??= JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: text }] });
  const res = await rawFetch(seam, '/v1/chat/completions', { method: 'POST', headers, body }, 30000);
  const raw = await res.text();
  let usage = null;
  try {
    usage = JSON.parse(raw).usage ?? null;
  } catch {
    /* an error body */
  }
  return { what, status: res.status, id: res.headers.get('x-seam-request-id'), route: res.headers.get('x-seam-route'), usage };
}

const adminGet = (seam, p) => rawFetch(seam, p, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
async function stats(seam, range = '1h') {
  const res = await adminGet(seam, `/admin/stats?range=${range}`);
  assert.equal(res.status, 200, `/admin/stats: ${res.status}`);
  return res.json();
}

describe('dashboard', { skip }, () => {
  let stack;
  let browser;
  let sent = [];
  const db = path.join(fs.mkdtempSync(path.join(tmpDir(), 'dash-')), 'state.sqlite');

  before(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startStack(config(db), { env: { [ADMIN_ENV]: ADMIN_KEY } });
    stack.local.setScript((rec) => (rec.rawBody && rec.rawBody.includes('[fail500]') ? { type: 'error', status: 500, message: 'injected' } : null));
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  });

  after(async () => {
    await browser?.close();
    const code = await stack?.stop();
    if (stack) assert.equal(code, 0, `seam exit code; stderr:\n${stack.seam.stderr().slice(-3000)}`);
  });

  /** A logged-in page; console errors and page errors land in <errors>. */
  async function openDashboard(contextOpts, errors) {
    const ctx = await browser.newContext(contextOpts);
    const page = await ctx.newPage();
    page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    const first = await page.goto(stack.seam.origin + '/ui');
    assert.equal(first.status(), 401, 'the page needs the admin key');
    assert.ok(await page.locator('form[action="/ui/login"]').count(), 'the login form');
    errors.length = 0; // the 401 of the login page itself is expected
    await page.fill('#key', ADMIN_KEY);
    await Promise.all([page.waitForURL(stack.seam.origin + '/ui'), page.click('button[type=submit]')]);
    await page.waitForSelector('body[data-loaded]');
    return { ctx, page };
  }

  it('refuses the page and the JSON without the admin key', async () => {
    const page = await rawFetch(stack.seam, '/ui');
    assert.equal(page.status, 401);
    const html = await page.text();
    assert.match(html, /action="\/ui\/login"/);
    assert.doesNotMatch(html, /p-traffic/, 'no dashboard without the key');
    for (const p of ['/admin/stats', '/admin/requests?id=x', '/admin/events']) {
      const r = await rawFetch(stack.seam, p);
      assert.equal(r.status, 401, p);
      await r.text();
      const wrong = await rawFetch(stack.seam, p, { headers: { authorization: 'Bearer sk-not-the-admin-key' } });
      assert.equal(wrong.status, 401, `${p} with a wrong key`);
      await wrong.text();
    }
    // A wrong key at the login form: the form again, and no cookie.
    const bad = await rawFetch(stack.seam, '/ui/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'key=sk-wrong', redirect: 'manual' });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get('set-cookie'), null);
    await bad.text();
    // The right key: an opaque session cookie (never the key) and a redirect.
    const good = await rawFetch(stack.seam, '/ui/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'key=' + encodeURIComponent(ADMIN_KEY), redirect: 'manual' });
    assert.equal(good.status, 303);
    assert.equal(good.headers.get('location'), '/ui');
    const cookie = good.headers.get('set-cookie');
    assert.match(cookie, /^seam_session=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    assert.ok(!cookie.includes(ADMIN_KEY));
    const session = cookie.split(';')[0];
    const withCookie = await rawFetch(stack.seam, '/ui', { headers: { cookie: session } });
    assert.equal(withCookie.status, 200);
    assert.match(await withCookie.text(), /p-traffic/);
    // The header works too; a forged cookie does not.
    assert.equal((await adminGet(stack.seam, '/ui')).status, 200);
    const forged = await rawFetch(stack.seam, '/ui', { headers: { cookie: 'seam_session=' + 'a'.repeat(64) } });
    assert.equal(forged.status, 401);
    await forged.text();
    // Logging out ends the session.
    const out = await rawFetch(stack.seam, '/ui/logout', { method: 'POST', headers: { cookie: session }, redirect: 'manual' });
    assert.equal(out.status, 303);
    const after = await rawFetch(stack.seam, '/ui', { headers: { cookie: session } });
    assert.equal(after.status, 401);
    await after.text();
    // Assets carry no data: served without a key, cached, with an ETag.
    const js = await rawFetch(stack.seam, '/ui/app.js');
    assert.equal(js.status, 200);
    assert.match(js.headers.get('cache-control'), /max-age=31536000/);
    const etag = js.headers.get('etag');
    assert.match(etag, /^"[0-9a-f]{16}"$/);
    await js.text();
    const again = await rawFetch(stack.seam, '/ui/uplot.iife.min.js', { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
  });

  it('/admin/stats holds exactly the traffic that was sent', async () => {
    const plan = ['local', 'local', 'local', 'cloud', 'cloud', 'regulated', 'ssn', 'fail', 'malformed'];
    sent = await Promise.all(plan.map((w) => send(stack.seam, w)));
    for (const q of sent) assert.ok(q.id, `${q.what} has a request id`);
    const by = (w) => sent.filter((q) => q.what === w);
    assert.ok(by('local').every((q) => q.status === 200 && q.route === 'local'));
    assert.ok(by('cloud').every((q) => q.status === 200 && q.route === 'cloud'));
    assert.ok(by('fail')[0].status >= 500);
    assert.equal(by('malformed')[0].status, 400);
    assertNoViolations(stack.cloud);

    const s = await waitUntil(async () => {
      const x = await stats(stack.seam);
      return x.totals.requests === plan.length ? x : null;
    }, { timeoutMs: 10000, what: 'every request in the ledger' });
    assert.deepEqual(
      { requests: s.totals.requests, local: s.totals.local, cloud: s.totals.cloud, none: s.totals.none, errors: s.totals.errors },
      { requests: 9, local: 6, cloud: 2, none: 1, errors: 2 },
    );
    assert.equal(s.traffic.local.reduce((a, b) => a + b, 0), 6);
    assert.equal(s.traffic.cloud.reduce((a, b) => a + b, 0), 2);
    assert.equal(s.traffic.none.reduce((a, b) => a + b, 0), 1);
    assert.equal(s.rules['sensitive-stays-local'].local, 6);
    assert.equal(s.rules['frontier-drafting'].cloud, 2);
    assert.equal(s.rules['(none)'].requests, 1);
    assert.deepEqual(s.reasons, { rule: 8, '(none)': 1 });
    assert.deepEqual(s.sensitivity.effective, { internal: 4, public: 2, regulated: 2, '(unknown)': 1 });
    assert.ok(s.sensitivity.flow.some((f) => f.declared === '(inferred)' && f.effective === 'regulated' && f.requests === 1), 'the SSN raised an undeclared request to regulated');
    assert.deepEqual(s.detected, { US_SSN: 1 });

    const local = s.backends.find((b) => b.name === 'local');
    const cloud = s.backends.find((b) => b.name === 'frontier');
    assert.equal(local.requests, 6);
    assert.equal(local.errors, 1);
    assert.equal(cloud.requests, 2);
    const sum = (qs, f) => qs.reduce((a, q) => a + (q.usage ? f(q.usage) : 0), 0);
    const locals = sent.filter((q) => q.route === 'local');
    const clouds = by('cloud');
    assert.equal(local.input_tokens, sum(locals, (u) => u.prompt_tokens));
    assert.equal(local.output_tokens, sum(locals, (u) => u.completion_tokens));
    assert.equal(cloud.input_tokens, sum(clouds, (u) => u.prompt_tokens));
    assert.equal(cloud.output_tokens, sum(clouds, (u) => u.completion_tokens));
    const cloudCost = sum(clouds, (u) => (u.prompt_tokens * PRICE.input + u.completion_tokens * PRICE.output) / 1e6);
    assert.ok(near(cloud.cost_usd, cloudCost), `cloud cost ${cloud.cost_usd} vs ${cloudCost}`);
    const allCloud = sum(sent.filter((q) => q.route), (u) => (u.prompt_tokens * PRICE.input + u.completion_tokens * PRICE.output) / 1e6);
    assert.ok(near(s.savings.counterfactual_usd, allCloud), `counterfactual ${s.savings.counterfactual_usd} vs ${allCloud}`);
    assert.equal(s.savings.reference, 'frontier');
    assert.ok(near(s.savings.savings_usd, s.savings.counterfactual_usd - s.savings.cost_usd));
    assert.ok(near(s.savings.cumulative.at(-1), s.savings.savings_usd), 'the savings curve ends at the total');
    assert.equal(s.savings.hardware.length, 1);
    assert.equal(s.savings.hardware[0].backend, 'local');

    for (const l of s.latency.backends) {
      assert.ok(l.total.n > 0 && l.total.p50 > 0 && l.total.p50 <= l.total.p95 && l.total.p95 <= l.total.p99, JSON.stringify(l));
      assert.ok(l.gateway.p99 >= 0);
    }
    assert.equal(s.latency.all.total.n, 8, 'every request that reached a backend');
    assert.deepEqual(new Set(s.recent.map((r) => r.id)), new Set(sent.map((q) => q.id)));
    assert.equal(s.live.ledger.on, true);
    assert.equal(s.live.backends.length, 2);

    // The why view's JSON for the SSN request.
    const ssn = by('ssn')[0];
    const why = await (await adminGet(stack.seam, '/admin/requests?id=' + ssn.id)).json();
    assert.equal(why.request.id, ssn.id);
    assert.equal(why.request.declared, null);
    assert.equal(why.request.sensitivity, 'regulated');
    assert.deepEqual(why.request.detected, { US_SSN: 1 });
    assert.equal(why.request.rule, 'sensitive-stays-local');
    assert.equal(why.request.backend, 'local');
    assert.equal(typeof why.request.complexity, 'string');
    assert.ok(why.request.tokens_est > 0);
    assert.equal(why.policy.rules.find((r) => r.matched).name, 'sensitive-stays-local');
    assert.equal((await adminGet(stack.seam, '/admin/requests?id=seam-nope')).status, 404);
    assert.equal((await adminGet(stack.seam, '/admin/stats?range=2h')).status, 400);

    // Nothing of any prompt in the JSON.
    for (const p of ['/admin/stats?range=7d', '/admin/requests?id=' + ssn.id]) {
      const text = await (await adminGet(stack.seam, p)).text();
      assert.ok(!text.includes(SECRET) && !text.includes(SSN), `${p} carries no prompt text`);
    }
  });

  it('the page shows every panel with the numbers of /admin/stats, live', async (t) => {
    const errors = [];
    const { ctx, page } = await openDashboard({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' }, errors);
    try {
      const fresh = await stats(stack.seam);
      await page.waitForFunction((n) => document.querySelector('[data-k="totals.requests"]').dataset.v === String(n), fresh.totals.requests);
      // What the page drew from. Costs of local hardware accrue by the hour,
      // so those are compared with the page's own read; everything counted
      // must be what the test just read itself.
      const s = await page.evaluate(() => window.seamStats);
      for (const k of ['totals', 'rules', 'reasons', 'sensitivity', 'detected', 'latency', 'recent']) assert.deepEqual(s[k], fresh[k], k);
      // Series by bucket start (a read in the next minute has shifted buckets).
      const byTime = (x, series) => Object.fromEntries(Object.entries(series).map(([name, v]) => [name, Object.fromEntries(v.map((n, i) => [x.window.t[i], n]).filter(([, n]) => n))]));
      assert.deepEqual(byTime(s, s.traffic), byTime(fresh, fresh.traffic));
      assert.deepEqual(byTime(s, s.rule_series), byTime(fresh, fresh.rule_series));
      assert.deepEqual(
        s.backends.map((b) => [b.name, b.requests, b.input_tokens, b.output_tokens, b.cost_usd, b.counterfactual_usd]),
        fresh.backends.map((b) => [b.name, b.requests, b.input_tokens, b.output_tokens, b.cost_usd, b.counterfactual_usd]),
      );
      assert.equal(s.savings.counterfactual_usd, fresh.savings.counterfactual_usd);
      const text = (sel) => page.locator(sel).first().textContent();
      const dv = (sel) => page.locator(sel).first().getAttribute('data-v');

      // Summary tiles.
      for (const k of ['requests', 'local', 'cloud', 'errors']) {
        assert.equal(await text(`[data-k="totals.${k}"]`), fmt.int(s.totals[k]), k);
        assert.equal(await dv(`[data-k="totals.${k}"]`), String(s.totals[k]), k);
      }
      assert.equal(await text('[data-k="savings.cost_usd"]'), fmt.usd(s.savings.cost_usd));
      assert.equal(await text('[data-k="savings.savings_usd"]'), fmt.usd(s.savings.savings_usd));
      // Rules and reasons.
      for (const [name, r] of Object.entries(s.rules)) {
        const row = `#t-rules tr[data-key="${name}"]`;
        assert.equal(await text(`${row} td[data-k="requests"]`), fmt.int(r.requests), name);
        assert.equal(await text(`${row} td[data-k="local"]`), fmt.int(r.local), name);
        assert.equal(await text(`${row} td[data-k="cloud"]`), fmt.int(r.cloud), name);
      }
      for (const [name, n] of Object.entries(s.reasons)) assert.equal(await text(`#l-reasons li[data-key="${name}"] b`), fmt.int(n), name);
      // Sensitivity, the declared -> effective flow, detected types.
      for (const [level, n] of Object.entries(s.sensitivity.effective)) assert.equal(await text(`#b-sensitivity [data-key="${level}"] .n`), fmt.int(n), level);
      for (const f of s.sensitivity.flow) assert.equal(await text(`#t-flow tr[data-key="${f.declared}>${f.effective}"] td:last-child`), fmt.int(f.requests));
      for (const [type, n] of Object.entries(s.detected)) assert.equal(await text(`#t-detected tr[data-key="${type}"] td:last-child`), fmt.int(n), type);
      assert.equal(await page.locator('#t-detected tr[data-key="US_SSN"]').count(), 1);
      // Latency per backend.
      for (const l of s.latency.backends)
        for (const k of ['total', 'ttft', 'gateway'])
          for (const p of ['p50', 'p95', 'p99']) assert.equal(await text(`#t-latency tr[data-key="${l.backend}"] td[data-k="${k}.${p}"]`), fmt.ms(l[k][p]), `${l.backend} ${k} ${p}`);
      // Tokens and cost per backend; hardware break-even.
      for (const b of s.backends) {
        const row = `#t-cost tr[data-key="${b.name}"]`;
        for (const k of ['requests', 'input_tokens', 'output_tokens']) assert.equal(await text(`${row} td[data-k="${k}"]`), fmt.int(b[k]), `${b.name} ${k}`);
        for (const k of ['cost_usd', 'counterfactual_usd']) assert.equal(await text(`${row} td[data-k="${k}"]`), fmt.usd(b[k]), `${b.name} ${k}`);
      }
      assert.equal(await page.locator('#hardware tr[data-key="local"]').count(), 1);
      // Backend health.
      for (const b of s.live.backends) {
        assert.equal(await text(`#t-health tr[data-key="${b.name}"] td[data-k="health"]`), b.health);
        assert.equal(await text(`#t-health tr[data-key="${b.name}"] td[data-k="inflight"]`), fmt.int(b.inflight));
      }
      // Recent decisions: every request sent, by id.
      for (const q of sent) assert.equal(await page.locator(`#t-recent tr[data-key="${q.id}"]`).count(), 1, q.id);
      // Three charts drawn.
      assert.equal(await page.locator('.uplot').count(), 3);

      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-1280x800.png') });

      // Live: more traffic shows up without a reload, over server-sent events.
      await page.waitForFunction(() => document.body.dataset.feed === 'live');
      const before = s.totals.requests;
      const more = await Promise.all([send(stack.seam, 'local'), send(stack.seam, 'cloud')]);
      await page.waitForFunction((n) => document.querySelector('[data-k="totals.requests"]').dataset.v === String(n), before + 2, { timeout: 10000 });
      for (const q of more) await page.locator(`#t-recent tr[data-key="${q.id}"]`).waitFor();
      sent.push(...more);

      // Why did the SSN request go local? Select its row.
      const ssn = sent.find((q) => q.what === 'ssn');
      await page.click(`#t-recent tr[data-key="${ssn.id}"]`);
      await page.waitForSelector('#why-body dl');
      assert.equal(await text('#why-id'), ssn.id);
      assert.equal(await text('#why-body dd[data-k="effective sensitivity"]'), 'regulated');
      assert.equal(await text('#why-body dd[data-k="declared sensitivity"]'), '(not declared)');
      assert.equal(await text('#why-body dd[data-k="detected"]'), 'US_SSN × 1');
      assert.equal(await text('#why-body dd[data-k="rule"]'), 'sensitive-stays-local');
      assert.match(await text('#why-body dd[data-k="backend"]'), /^local \(local, /);
      assert.match(await text('#why-body tr[data-key="sensitive-stays-local"]'), /sensitivity in \[internal, regulated\]: regulated ✓.*matched/);
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-why.png'), fullPage: true });

      // No prompt text anywhere in the page.
      const html = await page.content();
      assert.ok(!html.includes(SECRET), 'no prompt text in the page');
      assert.ok(!html.includes(SSN), 'no detected value in the page');

      // Loads fast from a local seam (warm: assets cached, as an operator
      // sees it). What seam controls is asserted: the page, each asset and
      // the stats each arrive within 200 ms. The browser's own load time
      // depends on the machine (CI runners are shared): it is reported.
      await page.reload();
      await page.waitForSelector('body[data-loaded]');
      const timing = await page.evaluate(() => {
        const n = performance.getEntriesByType('navigation')[0];
        return {
          page: n.responseEnd - n.startTime,
          load: n.loadEventEnd - n.startTime,
          resources: performance.getEntriesByType('resource').map((r) => [r.name.replace(location.origin, ''), r.responseEnd - r.startTime]),
        };
      });
      t.diagnostic(`dashboard timing (ms): ${JSON.stringify(timing)}`);
      assert.ok(timing.page < 200, `the page took ${timing.page} ms`);
      for (const [name, ms] of timing.resources) assert.ok(ms < 200, `${name} took ${ms} ms`);
      assert.ok(timing.resources.some(([name]) => name.startsWith('/admin/stats')), 'the stats were read');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await ctx.close();
    }
  });

  it('works at phone width and dark, and polls when events are blocked', async () => {
    const errors = [];
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, colorScheme: 'dark' });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    // The page's own /admin/events requests fail: it must fall back to polling.
    await page.route('**/admin/events', (r) => r.abort());
    const cookie = (await (await rawFetch(stack.seam, '/ui/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'key=' + encodeURIComponent(ADMIN_KEY), redirect: 'manual' })).headers.get('set-cookie')).split(';')[0];
    const [name, value] = cookie.split('=');
    await ctx.addCookies([{ name, value, url: stack.seam.origin, httpOnly: true, sameSite: 'Strict' }]);
    try {
      await page.goto(stack.seam.origin + '/ui');
      await page.waitForSelector('body[data-loaded]');
      await page.waitForFunction(() => document.body.dataset.feed === 'polling', null, { timeout: 10000 });
      const s = await stats(stack.seam);
      await page.waitForFunction((n) => document.querySelector('[data-k="totals.requests"]').dataset.v === String(n), s.totals.requests);
      await send(stack.seam, 'local');
      await page.waitForFunction((n) => document.querySelector('[data-k="totals.requests"]').dataset.v === String(n), s.totals.requests + 1, { timeout: 15000 });
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert.equal(bg, 'rgb(17, 20, 24)', 'dark colours follow the system');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `no horizontal scrolling at phone width (${overflow} px too wide)`);
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-phone-dark.png'), fullPage: true });
      // The toggle overrides the system: auto -> light.
      await page.click('#theme');
      assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(246, 247, 249)');
      assert.deepEqual(errors, []);
    } finally {
      await ctx.close();
    }
  });
});
