// seam dashboard. Reads /admin/stats (the ledger's numbers for a time range)
// and listens to /admin/events (a live update every second: backend health,
// in-flight requests, ledger counters); when the ledger has new rows it reads
// the stats again. Without server-sent events it polls /admin/stats.
// Everything is written with textContent: nothing from the server is ever
// parsed as HTML. The server has no prompt text to send, and this page never
// asks for any.
'use strict';

(() => {
  const RANGES = ['15m', '1h', '24h', '7d'];
  // Re-reading the stats of a long range costs more; live events may come
  // every second, the stats are read at most this often (ms).
  const MIN_REFRESH = { '15m': 1000, '1h': 1000, '24h': 5000, '7d': 15000 };
  const POLL = { '15m': 2000, '1h': 3000, '24h': 10000, '7d': 30000 };

  const $ = (sel) => document.querySelector(sel);
  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  };

  // ------------------------------------------------------------ formatting
  const fmt = {
    int: (n) => (n === null || n === undefined ? '–' : Math.round(n).toLocaleString('en-US')),
    usd: (x) => {
      if (x === null || x === undefined) return '–';
      const d = Math.abs(x) >= 100 ? 2 : 4;
      return (x < 0 ? '−$' : '$') + Math.abs(x).toFixed(d);
    },
    ms: (x) => {
      if (x === null || x === undefined) return '–';
      if (x < 10) return x.toFixed(2);
      if (x < 1000) return x.toFixed(1);
      return Math.round(x).toLocaleString('en-US');
    },
    pct: (x) => (x === null || x === undefined ? '–' : (x * 100).toFixed(1) + '%'),
    rate: (x) => (x === null || x === undefined ? '–' : x.toFixed(1)),
    time: (ms) => {
      const d = new Date(ms);
      return d.toLocaleTimeString('en-GB', { hour12: false }) + (Date.now() - ms > 86400000 ? ' ' + d.toISOString().slice(5, 10) : '');
    },
    date: (ms) => new Date(ms).toISOString().slice(0, 10),
  };
  window.seamFormat = fmt; // the end-to-end test formats expected values the same way

  // ----------------------------------------------------------------- state
  let range = localStorage.getItem('seam.range');
  if (!RANGES.includes(range)) range = '1h';
  let stats = null;
  let lastWritten = null;
  let lastFetch = 0;
  let pending = null;
  let inflightFetch = false;
  let pollTimer = null;
  const charts = {};

  function setNotice(text) {
    const n = $('#notice');
    n.hidden = !text;
    n.textContent = text || '';
  }

  function setFeed(mode) {
    const f = $('#feed');
    f.className = 'feed ' + mode;
    f.textContent = mode === 'live' ? 'live' : mode === 'polling' ? 'polling' : mode;
    document.body.dataset.feed = mode;
  }

  // ------------------------------------------------------------------ theme
  const THEMES = ['auto', 'light', 'dark'];
  function applyTheme(t) {
    if (t === 'auto') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = t;
    $('#theme').textContent = 'theme: ' + t;
    localStorage.setItem('seam.theme', t);
    redrawCharts();
  }

  // ----------------------------------------------------------------- charts
  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  const PALETTE = ['--local', '--cloud', '--accent', '--warn', '--err', '--none', '--good', '--fg'];

  function chartOpts(box, series, height) {
    const fg = cssVar('--fg');
    const line = cssVar('--line');
    const axis = { stroke: fg, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 } };
    return {
      width: Math.max(200, box.clientWidth),
      height,
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      scales: { x: { time: true } },
      axes: [axis, { ...axis, size: 56 }],
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))],
    };
  }

  // Draws (or redraws, when the series changed) chart <id>; <series> is
  // [{label, color, values}], <t> the bucket starts in ms.
  function drawChart(id, t, series, height) {
    const box = document.getElementById(id);
    if (!box || typeof uPlot === 'undefined') return;
    const key = series.map((s) => s.label + '|' + s.color).join(',');
    const data = [t.map((x) => x / 1000), ...series.map((s) => s.values)];
    let c = charts[id];
    if (c && c.key === key) {
      c.plot.setData(data);
      return;
    }
    if (c) c.plot.destroy();
    box.textContent = '';
    const plot = new uPlot(chartOpts(box, series, height), data, box);
    charts[id] = { plot, key, box, height, last: { t, series } };
  }

  function redrawCharts() {
    for (const id of Object.keys(charts)) {
      const c = charts[id];
      c.plot.destroy();
      delete charts[id];
    }
    if (stats) render(stats);
  }

  const resize = new ResizeObserver(() => {
    for (const c of Object.values(charts)) c.plot.setSize({ width: Math.max(200, c.box.clientWidth), height: c.height });
  });

  // ----------------------------------------------------------------- render
  function setK(k, text, raw) {
    for (const e of document.querySelectorAll(`[data-k="${k}"]`)) {
      e.textContent = text;
      e.dataset.v = raw === null || raw === undefined ? '' : String(raw);
    }
  }

  function fillTable(id, rows, cols) {
    const tb = document.getElementById(id);
    tb.textContent = '';
    if (!rows.length) {
      const tr = el('tr', null, 'empty');
      const td = el('td', 'nothing in this range');
      td.colSpan = cols;
      tr.append(td);
      tb.append(tr);
      return;
    }
    for (const r of rows) {
      const tr = el('tr');
      for (const c of r.cells) {
        const td = el('td', c.text, c.cls);
        if (c.k) td.dataset.k = c.k;
        if (c.v !== undefined) td.dataset.v = c.v === null ? '' : String(c.v);
        tr.append(td);
      }
      if (r.key) tr.dataset.key = r.key;
      if (r.onclick) tr.addEventListener('click', r.onclick);
      tb.append(tr);
    }
  }

  const cell = (text, extra = {}) => ({ text, ...extra });

  function render(s) {
    const T = s.totals;
    setK('totals.requests', fmt.int(T.requests ?? 0), T.requests ?? 0);
    setK('totals.local', fmt.int(T.local ?? 0), T.local ?? 0);
    setK('totals.cloud', fmt.int(T.cloud ?? 0), T.cloud ?? 0);
    setK('totals.errors', fmt.int(T.errors ?? 0), T.errors ?? 0);
    const S = s.savings;
    setK('savings.local_share_requests', S.local_share_requests === undefined ? '–' : fmt.pct(S.local_share_requests) + ' of requests', S.local_share_requests);
    setK('savings.cost_usd', fmt.usd(S.cost_usd), S.cost_usd);
    setK('savings.savings_usd', fmt.usd(S.savings_usd), S.savings_usd);
    for (const e of document.querySelectorAll('[data-k="savings.savings_usd"]')) e.className = 'big ' + ((S.savings_usd ?? 0) < 0 ? 'bad' : 'good');
    setK('savings.reference', S.reference ? 'all-cloud at ' + S.reference + "'s prices" : 'no report.reference_backend configured', S.reference);

    const t = s.window.t;
    drawChart('c-traffic', t, [
      { label: 'local', color: cssVar('--local'), values: s.traffic.local },
      { label: 'cloud', color: cssVar('--cloud'), values: s.traffic.cloud },
      { label: 'refused', color: cssVar('--none'), values: s.traffic.none },
      { label: 'errors', color: cssVar('--err'), values: s.traffic.errors },
    ], 220);

    const ruleNames = Object.keys(s.rule_series);
    drawChart('c-rules', t, ruleNames.map((n, i) => ({ label: n, color: cssVar(PALETTE[i % PALETTE.length]), values: s.rule_series[n] })), 160);
    fillTable('t-rules', Object.entries(s.rules).sort((a, b) => b[1].requests - a[1].requests).map(([name, r]) => ({
      key: name,
      cells: [cell(name), cell(fmt.int(r.requests), { k: 'requests', v: r.requests }), cell(fmt.int(r.local), { k: 'local', v: r.local }), cell(fmt.int(r.cloud), { k: 'cloud', v: r.cloud })],
    })), 4);
    const reasons = $('#l-reasons');
    reasons.textContent = '';
    for (const [name, n] of Object.entries(s.reasons)) {
      const li = el('li', name + ' ');
      li.dataset.key = name;
      const b = el('b', fmt.int(n));
      b.dataset.v = n;
      li.append(b);
      reasons.append(li);
    }

    // Sensitivity mix.
    const mix = s.sensitivity.effective;
    const total = Object.values(mix).reduce((a, b) => a + b, 0);
    const bars = $('#b-sensitivity');
    bars.textContent = '';
    for (const level of ['public', 'internal', 'regulated', ...Object.keys(mix).filter((k) => !['public', 'internal', 'regulated'].includes(k))]) {
      const n = mix[level] ?? 0;
      const row = el('div', null, 'bar');
      row.dataset.key = level;
      const track = el('div', null, 'track');
      const fill = el('div', null, 'fill ' + level);
      fill.style.width = total ? ((100 * n) / total).toFixed(1) + '%' : '0';
      track.append(fill);
      const num = el('span', fmt.int(n), 'n');
      num.dataset.v = n;
      row.append(el('span', level), track, num);
      bars.append(row);
    }
    fillTable('t-flow', s.sensitivity.flow.map((f) => ({
      key: f.declared + '>' + f.effective,
      cells: [cell(f.declared), cell(f.effective, { cls: f.declared !== f.effective && f.declared !== '(inferred)' ? 'status-err' : '' }), cell(fmt.int(f.requests), { v: f.requests })],
    })), 3);
    fillTable('t-detected', Object.entries(s.detected).map(([type, n]) => ({ key: type, cells: [cell(type), cell(fmt.int(n), { v: n })] })), 2);

    // Latency.
    const latRow = (name, l) => ({
      key: name,
      cells: [cell(name), ...['total', 'ttft', 'gateway'].flatMap((k) => ['p50', 'p95', 'p99'].map((p) => cell(fmt.ms(l[k][p]), { k: k + '.' + p, v: l[k][p] })))],
    });
    const lrows = s.latency.backends.map((l) => latRow(l.backend, l));
    if (s.latency.backends.length) lrows.push(latRow('all backends', s.latency.all));
    fillTable('t-latency', lrows, 10);

    // Tokens and cost.
    fillTable('t-cost', s.backends.filter((b) => b.requests > 0 || b.configured).map((b) => ({
      key: b.name,
      cells: [
        cell(b.name), cell(b.location, { cls: 'loc-' + b.location }),
        cell(fmt.int(b.requests), { k: 'requests', v: b.requests }),
        cell(fmt.int(b.input_tokens), { k: 'input_tokens', v: b.input_tokens }),
        cell(fmt.int(b.output_tokens), { k: 'output_tokens', v: b.output_tokens }),
        cell(fmt.usd(b.cost_usd), { k: 'cost_usd', v: b.cost_usd }),
        cell(fmt.usd(b.counterfactual_usd), { k: 'counterfactual_usd', v: b.counterfactual_usd }),
      ],
    })), 7);
    if (S.cumulative) drawChart('c-savings', t, [{ label: 'saved (USD)', color: cssVar('--good'), values: S.cumulative }], 160);
    const hw = $('#hardware');
    hw.textContent = '';
    if (S.hardware && S.hardware.length) {
      hw.append(el('h3', 'Hardware break-even'));
      const table = el('table', null, 'num');
      const head = el('tr');
      for (const h of ['backend', 'capex', 'per hour', 'cost in range', 'eff. $/Mtok', 'saves/day', 'break-even']) head.append(el('th', h));
      const thead = el('thead');
      thead.append(head);
      const tbody = el('tbody');
      for (const h of S.hardware) {
        const tr = el('tr');
        tr.dataset.key = h.backend;
        for (const v of [h.backend, fmt.usd(h.capex_usd), fmt.usd(h.hourly_usd), fmt.usd(h.fixed_cost_usd), h.effective_usd_per_mtok === null ? '–' : fmt.usd(h.effective_usd_per_mtok), fmt.usd(h.daily_savings_usd), h.break_even_ms === null ? 'never at this volume' : fmt.date(h.break_even_ms)]) tr.append(el('td', v));
        tbody.append(tr);
      }
      table.append(thead, tbody);
      const scroll = el('div', null, 'scroll');
      scroll.append(table);
      hw.append(scroll);
    }

    renderHealth(s.backends.filter((b) => b.configured), s.live);
    renderRecent(s.recent);
  }

  function renderHealth(backends, live) {
    const byName = new Map((live?.backends ?? []).map((b) => [b.name, b]));
    fillTable('t-health', backends.map((b) => {
      const l = byName.get(b.name) ?? b;
      return {
        key: b.name,
        cells: [
          cell(b.name), cell(b.location, { cls: 'loc-' + b.location }),
          cell(l.health, { cls: 'badge ' + l.health, k: 'health', v: l.health }),
          cell(l.circuit ?? '–', { cls: 'badge ' + (l.circuit === 'closed' ? 'up' : l.circuit === 'open' ? 'down' : 'unknown'), k: 'circuit', v: l.circuit }),
          cell(fmt.int(l.inflight), { k: 'inflight', v: l.inflight }),
          cell(l.max_concurrency ? fmt.int(l.max_concurrency) : '∞', { k: 'max_concurrency', v: l.max_concurrency }),
          cell(b.location === 'local' ? fmt.rate(b.tokens_per_s) : '–', { k: 'tokens_per_s', v: b.tokens_per_s }),
          cell(l.error ?? ''),
        ],
      };
    }), 8);
    const Q = live?.queues ?? [];
    $('#queue-state').textContent = Q.length ? 'queues: ' + Q.map((q) => `${q.pool} ${fmt.int(q.depth)}/${q.max ? fmt.int(q.max) : 'no queue'}`).join(' · ') : '';
    const L = live?.ledger;
    $('#ledger-state').textContent = !L ? '' : L.on ? `ledger: ${fmt.int(L.written)} rows written, ${fmt.int(L.queued)} queued, ${fmt.int(L.dropped)} dropped since start` : 'The ledger is off (state.sqlite is ""): only live numbers are shown.';
  }

  function renderRecent(recent) {
    fillTable('t-recent', recent.map((r) => ({
      key: r.id,
      onclick: () => { location.hash = '#req=' + encodeURIComponent(r.id); },
      cells: [
        cell(fmt.time(r.ts_ms)), cell(r.tenant ?? '–'), cell(r.kind ?? '–'),
        cell((r.declared ?? '(inferred)') + ' → ' + (r.sensitivity ?? '–') + (r.detected ? ' ⚑' : '')),
        cell(r.rule ?? '–'), cell(r.backend ?? '–', { cls: r.location ? 'loc-' + r.location : '' }),
        cell(r.status, { cls: r.status >= 400 ? 'status-err' : '', v: r.status }), cell(fmt.ms(r.ms_total)),
      ],
    })), 8);
  }

  // ------------------------------------------------------------- why view
  const REASONS = {
    rule: 'a policy rule matched',
    default: 'no rule matched: the default pool',
    pinned: 'the client asked for a model by name',
    clearance: "rerouted: the chosen backend's clearance is below the request's sensitivity",
    budget: "the tenant's budget was spent",
  };

  async function showWhy(id) {
    const panel = $('#p-why');
    panel.hidden = false;
    $('#why-id').textContent = id;
    const body = $('#why-body');
    body.textContent = 'loading…';
    const res = await fetch('/admin/requests?id=' + encodeURIComponent(id), { credentials: 'same-origin' });
    body.textContent = '';
    if (!res.ok) {
      body.append(el('p', res.status === 404 ? 'This request is not in the ledger (yet).' : 'Cannot read it: HTTP ' + res.status));
      return;
    }
    const { request: q, policy } = await res.json();
    const dl = el('dl', null, 'why');
    const det = q.detected && typeof q.detected === 'object' ? Object.entries(q.detected).map(([k, v]) => `${k} × ${v}`).join(', ') : 'nothing';
    const items = [
      ['when', new Date(q.ts_ms).toISOString()],
      ['tenant', q.tenant ?? '(anonymous)'],
      ['client dialect', q.ingress],
      ['kind', q.kind],
      ['complexity', q.complexity],
      ['declared sensitivity', q.declared ?? '(not declared)'],
      ['detected', det],
      ['effective sensitivity', q.sensitivity],
      ['token estimate', q.tokens_est === null ? '–' : fmt.int(q.tokens_est)],
      ['rule', q.rule ?? '(no decision)'],
      ['reason', q.reason ? `${q.reason}: ${REASONS[q.reason] ?? ''}` : '–'],
      ['pool', q.pool],
      ['backend', q.backend ? `${q.backend} (${q.location}, ${q.model})` : '(none)'],
      ['rule set applied', q.set_applied ?? 'nothing'],
      ['attempts', q.attempts],
      ['fell back from', q.fallback_from],
      ['status', q.status + (q.error ? ' ' + q.error : '')],
      ['tokens in / out', `${fmt.int(q.input_tokens)} / ${fmt.int(q.output_tokens)}`],
      ['cost / all-cloud', `${fmt.usd(q.cost_usd)} / ${fmt.usd(q.counterfactual_usd)}`],
      ['latency total / first token / gateway', `${fmt.ms(q.ms_total)} / ${fmt.ms(q.ms_ttft)} / ${fmt.ms(q.ms_gateway)} ms`],
    ];
    for (const [k, v] of items) {
      if (v === undefined || v === null) continue;
      const dt = el('dt', k);
      const dd = el('dd', v);
      dd.dataset.k = k;
      dl.append(dt, dd);
    }
    body.append(dl);
    body.append(el('h3', 'The policy, rule by rule (as configured now)'));
    const table = el('table');
    const head = el('tr');
    for (const h of ['#', 'rule', 'route', 'conditions', '']) head.append(el('th', h));
    const thead = el('thead');
    thead.append(head);
    const tbody = el('tbody');
    for (const r of policy.rules) {
      const tr = el('tr');
      tr.dataset.key = r.name;
      const conds = r.conditions.length ? r.conditions.map((c) => `${c.field} ${c.want.startsWith('>') || c.want.startsWith('<') ? c.want : 'in [' + c.want + ']'}: ${c.got ?? 'not recorded'} ${c.ok === null ? '?' : c.ok ? '✓' : '✗'}`).join('; ') : 'always';
      tr.append(el('td', r.position), el('td', r.name), el('td', r.route), el('td', conds), el('td', r.matched ? 'matched' : '', r.matched ? 'ok-yes' : ''));
      tbody.append(tr);
    }
    const tr = el('tr');
    tr.append(el('td', ''), el('td', 'default'), el('td', policy.default_pool), el('td', 'when no rule matches'), el('td', q.rule === 'default' ? 'matched' : '', 'ok-yes'));
    tbody.append(tr);
    table.append(thead, tbody);
    body.append(table);
  }

  function onHash() {
    const m = /^#req=(.+)$/.exec(location.hash);
    if (m) {
      showWhy(decodeURIComponent(m[1])).catch((e) => setNotice('cannot load the request: ' + e.message));
      $('#p-why').scrollIntoView({ block: 'nearest' });
    } else {
      $('#p-why').hidden = true;
    }
  }

  // --------------------------------------------------------------- loading
  async function refresh() {
    if (inflightFetch) return;
    inflightFetch = true;
    lastFetch = Date.now();
    try {
      const res = await fetch('/admin/stats?range=' + range, { credentials: 'same-origin' });
      if (res.status === 401) {
        location.reload(); // the session ended: the server shows the login form
        return;
      }
      if (!res.ok) {
        setNotice('cannot read the stats: HTTP ' + res.status);
        return;
      }
      stats = await res.json();
      window.seamStats = stats;
      setNotice(stats.live?.ledger?.on === false ? 'The ledger is off (state.sqlite is ""): history, costs and decisions are not recorded.' : '');
      render(stats);
      document.body.dataset.loaded = String((Number(document.body.dataset.loaded) || 0) + 1);
    } catch (e) {
      setNotice('cannot read the stats: ' + e.message);
    } finally {
      inflightFetch = false;
    }
  }

  // Reads the stats now, or as soon as the range's minimum interval allows.
  function scheduleRefresh() {
    if (pending) return;
    const wait = Math.max(0, lastFetch + MIN_REFRESH[range] - Date.now());
    pending = setTimeout(() => {
      pending = null;
      refresh();
    }, wait);
  }

  function startPolling() {
    if (pollTimer) return;
    setFeed('polling');
    pollTimer = setInterval(refresh, POLL[range]);
  }

  function startEvents() {
    if (typeof EventSource === 'undefined') {
      startPolling();
      return;
    }
    const es = new EventSource('/admin/events');
    const giveUp = setTimeout(() => {
      if (document.body.dataset.feed !== 'live') {
        es.close();
        startPolling();
      }
    }, 5000);
    es.addEventListener('live', (ev) => {
      clearTimeout(giveUp);
      setFeed('live');
      const live = JSON.parse(ev.data);
      if (stats) {
        stats.live = live;
        renderHealth(stats.backends.filter((b) => b.configured), live);
      }
      const w = live.ledger.written;
      if (lastWritten !== null && w !== lastWritten) scheduleRefresh();
      lastWritten = w;
    });
    es.addEventListener('error', () => {
      if (es.readyState === EventSource.CLOSED) {
        clearTimeout(giveUp);
        startPolling();
      } else {
        setFeed('reconnecting');
      }
    });
  }

  function setRange(r) {
    range = r;
    localStorage.setItem('seam.range', r);
    for (const b of document.querySelectorAll('[data-range]')) b.setAttribute('aria-pressed', String(b.dataset.range === r));
    if (pollTimer) {
      clearInterval(pollTimer);
      pollTimer = null;
      startPolling();
    }
    refresh();
  }

  function init() {
    for (const b of document.querySelectorAll('[data-range]')) b.addEventListener('click', () => setRange(b.dataset.range));
    const saved = localStorage.getItem('seam.theme');
    let theme = THEMES.includes(saved) ? saved : 'auto';
    applyTheme(theme);
    $('#theme').addEventListener('click', () => {
      theme = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
      applyTheme(theme);
    });
    $('#why-close').addEventListener('click', (e) => {
      e.preventDefault();
      history.replaceState(null, '', location.pathname);
      onHash();
    });
    for (const id of ['c-traffic', 'c-rules', 'c-savings']) resize.observe(document.getElementById(id));
    window.addEventListener('hashchange', onHash);
    setRange(range);
    startEvents();
    onHash();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
