// `seam report` end to end: a real seam with a priced cloud backend, a local
// backend with hardware, two tenants (client keys) and the ledger on, serves
// a known mix of requests (cloud and local, streamed and not, cached input
// tokens, an upstream error, a body seam refuses); SIGTERM flushes the
// ledger; then `seam report --format json` must give, for every group and
// the total, exactly the numbers this file computes from the fakes' own
// usage answers and the configured prices: requests, errors, tokens, local
// shares, cloud cost, the fixed cost of the hardware over the window shared
// by tokens, the all-cloud counterfactual, savings, the effective price per
// million tokens and the break-even date. The CSV and the table carry the
// same total.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { startStack, seamConfig, runSeam as run, tmpDir, userMsg, rid, rawPost, CLOUD_KEY_ENV } from './helpers.mjs';

/** Runs seam and fails on any sanitizer report (when SEAM_BIN is an ASan build). */
async function runSeam(args, opts) {
  const r = await run(args, opts);
  assert.equal(r.sanitizer, null, `sanitizer report from seam ${args.join(' ')}: ${r.stderr}`);
  return r;
}

const PRICE = { input_per_mtok: 1.25, output_per_mtok: 10.0, cached_input_per_mtok: 0.125 };
// Tiny energy use so that the local traffic's savings outrun it over a
// window of seconds and a break-even date exists.
const HW = { capex_usd: 6000, amortize_months: 36, watts: 2, usd_per_kwh: 0.1 };
const HOURLY = HW.capex_usd / (HW.amortize_months * 730) + (HW.watts / 1000) * HW.usd_per_kwh;
const ENERGY_HOURLY = (HW.watts / 1000) * HW.usd_per_kwh;

const KEYS = {
  finance: { env: 'SEAM_REPORT_FIN_KEY', value: 'sk-fin-' + crypto.randomBytes(8).toString('hex') },
  research: { env: 'SEAM_REPORT_RES_KEY', value: 'sk-res-' + crypto.randomBytes(8).toString('hex') },
};
const KEY_ENV = Object.fromEntries(Object.values(KEYS).map((k) => [k.env, k.value]));

/** USD for tokens at <p> (obs/cost.h): cached tokens are part of input. */
function price(p, input, output, cached) {
  const hit = Math.min(cached, input);
  return ((input - hit) * p.input_per_mtok + hit * (p.cached_input_per_mtok ?? p.input_per_mtok) + output * p.output_per_mtok) / 1e6;
}

function close(got, want, what) {
  assert.equal(typeof got, 'number', `${what} is a number (got ${JSON.stringify(got)})`);
  assert.ok(Math.abs(got - want) <= 1e-9 * (1 + Math.abs(want)), `${what}: got ${got}, want ${want}`);
}

function yaml(urls, db) {
  let y = seamConfig({ ...urls, defaultPool: 'local' });
  const cloudKey = `    api_key_env: ${CLOUD_KEY_ENV}\n`;
  const localCtx = '    context_window: 262144\n';
  assert.ok(y.includes(cloudKey) && y.includes(localCtx), 'the standard config has the lines this test extends');
  y = y.replace(
    cloudKey,
    cloudKey +
      `    price: { input_per_mtok: ${PRICE.input_per_mtok}, output_per_mtok: ${PRICE.output_per_mtok}, cached_input_per_mtok: ${PRICE.cached_input_per_mtok} }\n`,
  );
  y = y.replace(
    localCtx,
    localCtx + `    hardware: { capex_usd: ${HW.capex_usd}, amortize_months: ${HW.amortize_months}, watts: ${HW.watts}, usd_per_kwh: ${HW.usd_per_kwh} }\n`,
  );
  return (
    y +
    `auth:
  keys:
    - { name: fin-app, key_env: ${KEYS.finance.env}, tenant: finance }
    - { name: res-app, key_env: ${KEYS.research.env}, tenant: research }
state:
  sqlite: ${db}
  batch_ms: 50
report:
  reference_backend: frontier
`
  );
}

// The mix. cloud: public high-complexity drafts (rule frontier-drafting);
// local: internal data (rule sensitive-stays-local). `usage` makes the fake
// report those numbers (cached input tokens priced at the cached price);
// `fail` makes the local fake answer an error; `malformed` sends a body
// seam refuses before routing.
const CASES = [
  { tenant: 'finance', route: 'cloud', text: 'draft the memo [reply:alpha beta gamma delta]' },
  {
    tenant: 'finance',
    route: 'cloud',
    text: 'draft with a long cached prefix [reply:cached answer]',
    usage: {
      prompt_tokens: 1200,
      completion_tokens: 300,
      total_tokens: 1500,
      prompt_tokens_details: { cached_tokens: 1000, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 100, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    },
  },
  { tenant: 'finance', route: 'cloud', stream: true, text: 'streamed draft [reply:one two three four five six] [chunks:3]' },
  { tenant: 'finance', route: 'local', text: 'internal summary of the quarter [reply:local answer one]' },
  { tenant: 'finance', route: 'local', stream: true, text: 'internal streamed [reply:local streamed words here] [chunks:2]' },
  { tenant: 'finance', route: 'none', malformed: true },
  { tenant: 'research', route: 'cloud', text: 'research draft [reply:cloud research reply]' },
  { tenant: 'research', route: 'local', text: 'internal research notes, somewhat longer text to count [reply:ok]' },
  { tenant: 'research', route: 'local', stream: true, text: 'internal stream for research [reply:a b c d e f g h] [chunks:4]' },
  { tenant: 'research', route: 'local', fail: true, text: 'internal request the local server refuses' },
];

describe('seam report: every number against sums from the fakes', { timeout: 90000 }, () => {
  let stack;
  let db;
  let startMs;
  let endMs;
  const sent = []; // per case: what happened and what the ledger must hold

  before(async () => {
    db = path.join(tmpDir(), `ledger-${crypto.randomBytes(4).toString('hex')}.db`);
    stack = await startStack((urls) => yaml(urls, db), { env: KEY_ENV });
    const failMarkers = new Set();
    const usageFor = new Map();
    stack.local.setScript((req) => {
      for (const m of failMarkers) if (req.rawBody?.includes(m)) return { type: 'error', status: 400, message: 'the fake refuses this one' };
      return undefined;
    });
    stack.cloud.setScript((req) => {
      for (const [m, usage] of usageFor) if (req.rawBody?.includes(m)) return { type: 'text', content: 'cached answer', usage };
      return undefined;
    });
    startMs = Date.now();
    for (const c of CASES) {
      const marker = rid();
      if (c.fail) failMarkers.add(marker);
      if (c.usage) usageFor.set(marker, c.usage);
      const headers = { authorization: `Bearer ${KEYS[c.tenant].value}` };
      let body;
      if (c.malformed) {
        body = `{"model":"auto","messages":[{"role":"user","content":"${marker}"}`; // cut short
      } else {
        const cloud = c.route === 'cloud';
        headers['x-seam-sensitivity'] = cloud ? 'public' : 'internal';
        if (cloud) {
          headers['x-seam-kind'] = 'draft';
          headers['x-seam-complexity'] = 'high';
        }
        body = JSON.stringify({
          model: 'auto',
          messages: [userMsg(cloud ? 'public' : 'internal', c.text, marker)],
          ...(c.stream ? { stream: true } : {}),
        });
      }
      const r = await rawPost(stack.seam, body, headers);
      sent.push({ c, marker, status: r.status, backend: r.headers.get('x-seam-backend'), text: r.text });
    }
    endMs = Date.now();
    const code = await stack.stop();
    assert.equal(code, 0, `seam exits 0 on SIGTERM; stderr:\n${stack.seam.stderr()}`);
  });

  after(async () => {
    if (stack?.seam.running) await stack.stop();
  });

  /** What the ledger must hold for each request, from the fakes' records. */
  function expectedRows() {
    return sent.map(({ c, marker, status, backend }) => {
      if (c.malformed) {
        assert.ok(status >= 400 && status < 500, `the malformed body is refused (got ${status})`);
        return { tenant: c.tenant, backend: null, location: null, error: true, input: 0, output: 0, cached: 0 };
      }
      const want = c.route === 'cloud' ? 'frontier' : 'local';
      if (c.fail) assert.ok(status >= 400, `the refused request is an error (got ${status})`);
      else assert.equal(status, 200, `case ${JSON.stringify(c)} answered`);
      if (backend !== null) assert.equal(backend, want, `x-seam-backend of ${JSON.stringify(c)}`);
      const fake = want === 'frontier' ? stack.cloud : stack.local;
      const rec = fake.find(marker);
      assert.ok(rec, `the ${want} fake received ${marker}`);
      const u = status < 400 ? rec.usage : null;
      if (status < 400) assert.ok(u, `the fake answered usage for ${marker}`);
      return {
        tenant: c.tenant,
        backend: want,
        location: want === 'frontier' ? 'cloud' : 'local',
        error: status >= 400,
        input: u?.prompt_tokens ?? 0,
        output: u?.completion_tokens ?? 0,
        cached: u?.prompt_tokens_details?.cached_tokens ?? 0,
      };
    });
  }

  function window() {
    // Whole seconds around the run, so the bounds print and parse exactly.
    const since = Math.floor(startMs / 1000) * 1000 - 1000;
    const until = Math.ceil(endMs / 1000) * 1000 + 1000;
    return { since, until, hours: (until - since) / 3.6e6 };
  }

  async function report(by, format = 'json') {
    const w = window();
    const r = await runSeam(
      ['report', '-c', stack.seam.file, '--since', new Date(w.since).toISOString(), '--until', new Date(w.until).toISOString(), '--by', by, '--format', format],
      { env: KEY_ENV },
    );
    assert.equal(r.code, 0, `seam report --by ${by} --format ${format} exits 0; stderr: ${r.stderr}`);
    return format === 'json' ? JSON.parse(r.stdout) : r.stdout;
  }

  /** Sums of <rows> as a report group; <localCost> is its fixed-cost share. */
  function sums(name, rows, localCost) {
    const g = { name, requests: 0, errors: 0, input_tokens: 0, output_tokens: 0, local_requests: 0, local_tokens: 0, cloud_cost_usd: 0, counterfactual_usd: 0 };
    for (const r of rows) {
      g.requests++;
      g.errors += r.error ? 1 : 0;
      g.input_tokens += r.input;
      g.output_tokens += r.output;
      if (r.location === 'local') {
        g.local_requests++;
        g.local_tokens += r.input + r.output;
      }
      if (r.location === 'cloud') g.cloud_cost_usd += price(PRICE, r.input, r.output, r.cached);
      g.counterfactual_usd += price(PRICE, r.input, r.output, r.cached);
    }
    g.local_cost_usd = localCost;
    g.cost_usd = g.cloud_cost_usd + g.local_cost_usd;
    g.savings_usd = g.counterfactual_usd - g.cost_usd;
    const tokens = g.input_tokens + g.output_tokens;
    g.local_share_requests = g.requests ? g.local_requests / g.requests : 0;
    g.local_share_tokens = tokens ? g.local_tokens / tokens : 0;
    return g;
  }

  function checkGroup(got, want) {
    assert.ok(got, `group ${want.name} is in the report`);
    assert.equal(got.name, want.name);
    for (const k of ['requests', 'errors', 'input_tokens', 'output_tokens', 'local_requests', 'local_tokens']) assert.equal(got[k], want[k], `${want.name}.${k}`);
    for (const k of ['local_share_requests', 'local_share_tokens', 'cloud_cost_usd', 'local_cost_usd', 'cost_usd', 'counterfactual_usd', 'savings_usd'])
      close(got[k], want[k], `${want.name}.${k}`);
  }

  function hardwareTotals(rows) {
    const local = rows.filter((r) => r.backend === 'local');
    const tokens = local.reduce((s, r) => s + r.input + r.output, 0);
    const fixed = HOURLY * window().hours;
    return { local, tokens, fixed };
  }

  it('requests sent == ledger rows, and the total matches', async () => {
    const rows = expectedRows();
    const j = await report('tenant');
    assert.equal(j.total.requests, CASES.length, 'one ledger row per request sent');
    const hw = hardwareTotals(rows);
    checkGroup(j.total, sums('TOTAL', rows, hw.fixed));
    close(j.total.unallocated_usd, 0, 'unallocated');
    assert.equal(j.reference_backend, 'frontier');
    assert.equal(j.window.since_ms, window().since);
    assert.equal(j.window.until_ms, window().until);
    close(j.window.hours, window().hours, 'window hours');
  });

  it('--by tenant: each tenant against its own sums, the hardware shared by tokens', async () => {
    const rows = expectedRows();
    const hw = hardwareTotals(rows);
    const j = await report('tenant');
    assert.equal(j.by, 'tenant');
    assert.deepEqual(
      j.groups.map((g) => g.name),
      ['finance', 'research'],
    );
    for (const t of ['finance', 'research']) {
      const mine = rows.filter((r) => r.tenant === t);
      const localTokens = mine.filter((r) => r.backend === 'local').reduce((s, r) => s + r.input + r.output, 0);
      checkGroup(
        j.groups.find((g) => g.name === t),
        sums(t, mine, (hw.fixed * localTokens) / hw.tokens),
      );
    }
  });

  it('--by backend: frontier at its prices, local at its fixed cost, refused requests under (none)', async () => {
    const rows = expectedRows();
    const hw = hardwareTotals(rows);
    const j = await report('backend');
    assert.deepEqual(
      j.groups.map((g) => g.name),
      ['(none)', 'frontier', 'local'],
    );
    checkGroup(j.groups[0], sums('(none)', rows.filter((r) => r.backend === null), 0));
    checkGroup(j.groups[1], sums('frontier', rows.filter((r) => r.backend === 'frontier'), 0));
    checkGroup(j.groups[2], sums('local', hw.local, hw.fixed));
  });

  it('--by rule and --by day: groups add up to the same total', async () => {
    const rows = expectedRows();
    const hw = hardwareTotals(rows);
    const want = sums('TOTAL', rows, hw.fixed);
    for (const by of ['rule', 'day']) {
      const j = await report(by);
      checkGroup(j.total, want);
      const add = (k) => j.groups.reduce((s, g) => s + g[k], 0);
      for (const k of ['requests', 'errors', 'input_tokens', 'output_tokens', 'local_requests', 'local_tokens']) assert.equal(add(k), want[k], `--by ${by}: sum of ${k}`);
      for (const k of ['cloud_cost_usd', 'local_cost_usd', 'counterfactual_usd']) close(add(k), want[k], `--by ${by}: sum of ${k}`);
      if (by === 'rule') {
        const byName = Object.fromEntries(j.groups.map((g) => [g.name, g]));
        assert.equal(byName['frontier-drafting']?.requests, rows.filter((r) => r.backend === 'frontier').length, 'cloud requests by frontier-drafting');
        assert.equal(byName['sensitive-stays-local']?.requests, hw.local.length, 'local requests by sensitive-stays-local');
      } else {
        const days = new Set([new Date(startMs).toISOString().slice(0, 10), new Date(endMs).toISOString().slice(0, 10)]);
        assert.deepEqual(new Set(j.groups.map((g) => g.name)), days, 'one group per UTC day of the run');
      }
    }
  });

  it('hardware: hourly and fixed cost, effective price per million tokens, break-even date', async () => {
    const rows = expectedRows();
    const hw = hardwareTotals(rows);
    const w = window();
    const j = await report('backend');
    assert.equal(j.hardware.length, 1);
    const h = j.hardware[0];
    assert.equal(h.backend, 'local');
    close(h.capex_usd, HW.capex_usd, 'capex');
    close(h.hourly_usd, HOURLY, 'hourly cost');
    close(h.energy_hourly_usd, ENERGY_HOURLY, 'energy per hour');
    close(h.fixed_cost_usd, hw.fixed, 'fixed cost over the window');
    close(h.energy_cost_usd, ENERGY_HOURLY * w.hours, 'energy cost over the window');
    assert.equal(h.requests, hw.local.length);
    assert.equal(h.tokens, hw.tokens);
    close(h.effective_usd_per_mtok, (hw.fixed / hw.tokens) * 1e6, 'effective $/Mtok');
    const cf = hw.local.reduce((s, r) => s + price(PRICE, r.input, r.output, r.cached), 0);
    close(h.counterfactual_usd, cf, 'all-cloud price of the local traffic');
    const daily = (cf - ENERGY_HOURLY * w.hours) / (w.hours / 24);
    close(h.daily_savings_usd, daily, 'savings per day');
    assert.ok(daily > 0, 'this mix saves money every day');
    const first = Date.parse(h.first_row);
    assert.ok(first >= startMs - 5 && first <= endMs + 5, `the first local row is from this run (${h.first_row})`);
    const breakEven = first + (HW.capex_usd / daily) * 86400000;
    assert.ok(Math.abs(Date.parse(h.break_even_at) - breakEven) <= 2, `break-even at ${h.break_even_at}, want ${new Date(breakEven).toISOString()}`);
    assert.equal(h.break_even, h.break_even_at.slice(0, 10));
    assert.equal(h.break_even_note, null);
  });

  it('CSV and table carry the same total', async () => {
    const rows = expectedRows();
    const want = sums('TOTAL', rows, hardwareTotals(rows).fixed);
    const csv = (await report('tenant', 'csv')).trim().split('\n');
    const head = csv[0].split(',');
    assert.equal(head[0], 'kind');
    const total = csv.find((l) => l.startsWith('total,'))?.split(',');
    assert.ok(total, 'a total row');
    const col = (k) => total[head.indexOf(k)];
    assert.equal(Number(col('requests')), want.requests);
    assert.equal(Number(col('input_tokens')), want.input_tokens);
    close(Number(col('counterfactual_usd')), want.counterfactual_usd, 'CSV counterfactual');
    close(Number(col('savings_usd')), want.savings_usd, 'CSV savings');
    assert.equal(csv.filter((l) => l.startsWith('group,')).length, 2);
    assert.equal(csv.filter((l) => l.startsWith('hardware,')).length, 1);

    const table = await report('tenant', 'table');
    const line = table.split('\n').find((l) => l.startsWith('TOTAL '));
    assert.ok(line, `a TOTAL line in:\n${table}`);
    assert.equal(Number(line.trim().split(/\s+/)[1]), want.requests);
    assert.match(table, /fixed-cost view/);
    assert.match(table, /\bfinance\b/);
    assert.match(table, /\bresearch\b/);
  });
});
