// The CLI without the network: `seam check -c FILE` and `seam route -c FILE -`.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSeam as run, seamConfig, writeConfig, CLOUD_KEY_ENV, CLOUD_KEY } from './helpers.mjs';

/** Runs seam and fails on any sanitizer report (when SEAM_BIN is an ASan build). */
async function runSeam(args, opts) {
  const r = await run(args, opts);
  assert.equal(r.sanitizer, null, `sanitizer report from seam ${args.join(' ')}`);
  return r;
}

const base = () => seamConfig({ local: 'http://127.0.0.1:1', cloud: 'http://127.0.0.1:2' });

/** Replaces the first line matching <re> with <line>; returns {yaml, lineNo} (1-based). */
function mutate(yaml, re, line) {
  const lines = yaml.split('\n');
  const i = lines.findIndex((l) => re.test(l));
  assert.ok(i >= 0, `pattern ${re} in the base config`);
  lines[i] = line;
  return { yaml: lines.join('\n'), lineNo: i + 1 };
}

/** Inserts <line> after the first line matching <re>; returns {yaml, lineNo}. */
function insertAfter(yaml, re, line) {
  const lines = yaml.split('\n');
  const i = lines.findIndex((l) => re.test(l));
  assert.ok(i >= 0, `pattern ${re} in the base config`);
  lines.splice(i + 1, 0, line);
  return { yaml: lines.join('\n'), lineNo: i + 2 };
}

describe('seam check', { timeout: 60000 }, () => {
  it('exits 0 on a valid config and prints the backends, pools and rules', async () => {
    const file = writeConfig(base(), 'valid');
    const r = await runSeam(['check', '-c', file], { env: { [CLOUD_KEY_ENV]: CLOUD_KEY } });
    assert.equal(r.code, 0, `exit ${r.code}; stderr: ${r.stderr}`);
    const out = r.stdout + r.stderr;
    for (const word of ['local', 'frontier', 'gemma4:31b', 'gpt-5.1', 'cloud', 'sensitive-stays-local', 'high-volume-stays-local', 'frontier-drafting']) {
      assert.ok(out.includes(word), `output mentions ${word}:\n${out}`);
    }
    assert.ok(!out.includes(CLOUD_KEY), 'never prints the API key value');
  });

  it('the shipped seam.yaml is valid', async () => {
    const r = await runSeam(['check', '-c', 'seam.yaml']);
    assert.equal(r.code, 0, `exit ${r.code}; stderr: ${r.stderr}`);
  });

  const bad = [
    ['an unknown top-level key', (y) => insertAfter(y, /^workers:/, 'colour: blue'), 'colour'],
    ['a wrong type (workers: many)', (y) => mutate(y, /^workers:/, 'workers: many'), 'workers'],
    ['an unknown key in a backend', (y) => insertAfter(y, /^    location: local/, '    colour: blue'), 'colour'],
    ['a bad location value', (y) => mutate(y, /^    location: cloud/, '    location: moon'), 'location'],
    ['a bad sensitivity in a rule', (y) => mutate(y, /name: sensitive-stays-local/, '    - { name: sensitive-stays-local, when: { sensitivity: [internal, secret] }, route: local }'), 'sensitivity'],
    ['an unknown key in a rule\'s when', (y) => mutate(y, /name: high-volume-stays-local/, '    - { name: high-volume-stays-local, when: { tokens_more_than: 64000 }, route: local }'), 'tokens_more_than'],
    ['a wrong type for tokens_gt', (y) => mutate(y, /name: high-volume-stays-local/, '    - { name: high-volume-stays-local, when: { tokens_gt: lots }, route: local }'), 'tokens_gt'],
    ['a wrong type for max_body_bytes', (y) => mutate(y, /^limits:/, 'limits: { max_body_bytes: huge, request_timeout_ms: 1000 }'), 'max_body_bytes'],
  ];
  for (const [label, fn, key] of bad) {
    it(`exits non-zero on ${label}, naming FILE:LINE and the key`, async () => {
      const { yaml, lineNo } = fn(base());
      const file = writeConfig(yaml, 'invalid');
      const r = await runSeam(['check', '-c', file]);
      assert.notEqual(r.code, 0, `exit code for ${label}; output: ${r.stdout}${r.stderr}`);
      assert.equal(r.signal, null, 'did not crash');
      const out = r.stdout + r.stderr;
      assert.ok(out.includes(`${file}:${lineNo}`), `message names ${file}:${lineNo}:\n${out}`);
      assert.ok(out.includes(key), `message names the key ${key}:\n${out}`);
    });
  }

  it('exits non-zero on a pool naming an unknown backend, or a rule routing to an unknown pool', async () => {
    for (const [fn, key] of [
      [(y) => mutate(y, /^  cloud: \{ backends: \[frontier\]/, '  cloud: { backends: [frontier, nonesuch] }'), 'nonesuch'],
      [(y) => mutate(y, /name: frontier-drafting/, '    - { name: frontier-drafting, when: { kind: [draft] }, route: mars }'), 'mars'],
    ]) {
      const { yaml, lineNo } = fn(base());
      const file = writeConfig(yaml, 'invalid');
      const r = await runSeam(['check', '-c', file]);
      const out = r.stdout + r.stderr;
      assert.notEqual(r.code, 0, out);
      assert.equal(r.signal, null);
      assert.ok(out.includes(`${file}:${lineNo}`), `names ${file}:${lineNo}:\n${out}`);
      assert.ok(out.includes(key), `names ${key}:\n${out}`);
    }
  });

  it('exits non-zero on a missing file and on YAML that does not parse', async () => {
    const r1 = await runSeam(['check', '-c', '/nonexistent/seam.yaml']);
    assert.notEqual(r1.code, 0);
    assert.equal(r1.signal, null);
    const file = writeConfig('listen: [unclosed\nworkers: 2\n', 'broken');
    const r2 = await runSeam(['check', '-c', file]);
    assert.notEqual(r2.code, 0);
    assert.equal(r2.signal, null);
    assert.ok((r2.stdout + r2.stderr).includes(file), 'names the file');
  });
});

describe('seam route', { timeout: 60000 }, () => {
  const lines = [
    // [input, expected pool, backend, rule]
    [{ kind: 'draft', sensitivity: 'public', complexity: 'high', tokens: 1000 }, 'cloud', 'frontier', 'frontier-drafting'],
    [{ kind: 'draft', sensitivity: 'public', complexity: 'high', tokens: 70000 }, 'local', 'local', 'high-volume-stays-local'],
    [{ kind: 'draft', sensitivity: 'regulated', complexity: 'high', tokens: 10 }, 'local', 'local', 'sensitive-stays-local'],
    [{ kind: 'chat', sensitivity: 'internal', complexity: 'low', tokens: 10 }, 'local', 'local', 'sensitive-stays-local'],
    [{ kind: 'code', sensitivity: 'public', complexity: 'medium', tokens: 10 }, 'local', 'local', 'default'],
    [{ kind: 'draft', sensitivity: 'public', complexity: 'medium', tokens: 10 }, 'local', 'local', 'default'],
    [{ sensitivity: 'public', model: 'gpt-5.1' }, 'cloud', 'frontier', 'pinned'],
    [{ sensitivity: 'public', kind: 'draft', complexity: 'high', model: 'gemma4:31b' }, 'local', 'local', 'pinned'],
    [{ kind: 'chat' }, 'local', 'local', 'sensitive-stays-local'],
    // whole chat requests
    [{ model: 'auto', messages: [{ role: 'user', content: 'hi' }], seam: { kind: 'draft', sensitivity: 'public', complexity: 'high' } }, 'cloud', 'frontier', 'frontier-drafting'],
    [{ model: 'auto', messages: [{ role: 'user', content: 'hi' }] }, 'local', 'local', 'sensitive-stays-local'],
    [{ model: 'auto', messages: [{ role: 'user', content: 'x'.repeat(300000) }], seam: { kind: 'draft', sensitivity: 'public', complexity: 'high' } }, 'local', 'local', 'high-volume-stays-local'],
    [{ model: 'auto', max_tokens: 70000, messages: [{ role: 'user', content: 'hi' }], seam: { kind: 'draft', sensitivity: 'public', complexity: 'high' } }, 'local', 'local', 'high-volume-stays-local'],
  ];
  const input = lines.map(([l]) => JSON.stringify(l)).join('\n') + '\n';

  it('--json: one decision object per input line (tasks and whole chat requests)', async () => {
    const file = writeConfig(base(), 'route');
    const r = await runSeam(['route', '-c', file, '--json', '-'], { input });
    assert.equal(r.code, 0, `exit ${r.code}; stderr: ${r.stderr}`);
    const out = r.stdout.split('\n').filter((l) => l.trim());
    assert.equal(out.length, lines.length, `one line per input:\n${r.stdout}`);
    const mismatches = [];
    out.forEach((l, i) => {
      const d = JSON.parse(l);
      assert.equal(typeof d.reason, 'string', 'reason');
      assert.ok(d.reason.length > 0 && !d.reason.includes('\n'), 'reason is one line');
      assert.ok(Array.isArray(d.fallback), 'fallback is an array');
      const [, pool, backend, rule] = lines[i];
      const got = { pool: d.pool, backend: d.backend, rule: d.rule };
      const want = { pool, backend, rule };
      try {
        assert.deepEqual(got, want);
      } catch {
        mismatches.push({ input: JSON.stringify(lines[i][0]).slice(0, 120), got, want });
      }
    });
    assert.deepEqual(mismatches, []);
  });

  it('--json: a pinned cloud model with sensitive data is decided local', async () => {
    const file = writeConfig(base(), 'route');
    const r = await runSeam(['route', '-c', file, '--json', '-'], { input: JSON.stringify({ model: 'gpt-5.1', sensitivity: 'regulated' }) + '\n' + JSON.stringify({ model: 'gpt-5.1' }) + '\n' });
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
    assert.equal(out.length, 2);
    for (const d of out) {
      assert.equal(d.pool, 'local');
      assert.equal(d.backend, 'local');
    }
  });

  it('plain output: one human line per input naming the pool and the rule; reads a file argument too', async () => {
    const file = writeConfig(base(), 'route');
    const tasks = writeConfig(input, 'tasks'); // a JSONL file (the name does not matter)
    for (const args of [['route', '-c', file, '-'], ['route', '-c', file, tasks]]) {
      const r = await runSeam(args, { input: args.at(-1) === '-' ? input : undefined });
      assert.equal(r.code, 0, `${args.join(' ')}: exit ${r.code}; stderr: ${r.stderr}`);
      const out = r.stdout.split('\n').filter((l) => l.trim());
      assert.equal(out.length, lines.length, `one line per input:\n${r.stdout}`);
      out.forEach((l, i) => {
        const [, pool, , rule] = lines[i];
        assert.ok(l.includes(pool), `line ${i + 1} names pool ${pool}: ${l}`);
        assert.ok(l.includes(rule), `line ${i + 1} names rule ${rule}: ${l}`);
      });
    }
  });

  it('an invalid input line is reported without crashing', async () => {
    const file = writeConfig(base(), 'route');
    const r = await runSeam(['route', '-c', file, '--json', '-'], { input: '{"kind":"poem"}\nnot json\n' + JSON.stringify(lines[0][0]) + '\n' });
    assert.equal(r.signal, null, 'no crash');
    assert.ok((r.stdout + r.stderr).length > 0);
  });
});
