// The audit log end to end: a real seam writes it while serving requests,
// SIGTERM flushes it, `seam audit verify` passes on it and fails on edited
// copies (naming the line), and `seam audit query` answers the compliance
// question. The chain is also recomputed here with node's own SHA-256, so
// the format is checked by an implementation independent of seam's.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, seamConfig, runSeam as run, tmpDir, writeConfig, userMsg, rid, routingHeaders } from './helpers.mjs';

const ZERO = '0'.repeat(64);

/** Runs seam and fails on any sanitizer report (when SEAM_BIN is an ASan build). */
async function runSeam(args, opts) {
  const r = await run(args, opts);
  assert.equal(r.sanitizer, null, `sanitizer report from seam ${args.join(' ')}: ${r.stderr}`);
  return r;
}

function freshDir(name) {
  const d = path.join(tmpDir(), `${name}-${crypto.randomBytes(4).toString('hex')}`);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');

/** The audit files of <dir>, oldest first. */
function auditFiles(dir) {
  return fs
    .readdirSync(dir)
    .filter((f) => /^audit-\d{8}-[0-9TZ]+\.jsonl$/.test(f))
    .sort();
}

/** Copies the log (files and HEAD) into a fresh directory. */
function copyLog(dir) {
  const d = freshDir('copy');
  for (const f of [...auditFiles(dir), 'HEAD']) fs.copyFileSync(path.join(dir, f), path.join(d, f));
  return d;
}

/** Recomputes the chain independently; returns all lines parsed. */
function checkChain(dir) {
  let expect = ZERO;
  const all = [];
  let last = null;
  for (const f of auditFiles(dir)) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    assert.ok(text.endsWith('\n'), `${f} ends with a newline`);
    const lines = text.slice(0, -1).split('\n');
    lines.forEach((line, i) => {
      assert.ok(line.startsWith(`{"prev":"${expect}"`), `${f}:${i + 1} carries the hash of the line before`);
      all.push(JSON.parse(line));
      expect = sha(line);
      last = { file: f, line: i + 1, hash: expect };
    });
  }
  const head = JSON.parse(fs.readFileSync(path.join(dir, 'HEAD'), 'utf8'));
  assert.deepEqual(head, last, 'HEAD anchors the last line after a clean stop');
  return all;
}

/** Writes a chained log in JS (the documented format) and its HEAD. */
function writeLog(dir, entries, perFile = 3) {
  let prev = ZERO;
  let last = null;
  for (let i = 0, seq = 1; i < entries.length; i += perFile, seq++) {
    const name = `audit-${String(seq).padStart(8, '0')}-20250601T000000Z.jsonl`;
    let text = '';
    entries.slice(i, i + perFile).forEach((e, k) => {
      const line = JSON.stringify({ prev, ...e });
      text += line + '\n';
      prev = sha(line);
      last = { file: name, line: k + 1, hash: prev };
    });
    fs.writeFileSync(path.join(dir, name), text);
  }
  fs.writeFileSync(path.join(dir, 'HEAD'), JSON.stringify(last) + '\n');
}

/** Replaces the first occurrence of <from> on 1-based line <lineNo> of <file>. */
function editLine(dir, file, lineNo, from, to) {
  const p = path.join(dir, file);
  const lines = fs.readFileSync(p, 'utf8').split('\n');
  assert.ok(lines[lineNo - 1].includes(from), `line ${lineNo} of ${file} has ${from}`);
  lines[lineNo - 1] = lines[lineNo - 1].replace(from, to);
  fs.writeFileSync(p, lines.join('\n'));
}

async function verify(dir) {
  return runSeam(['audit', 'verify', dir]);
}

async function count(dir, ...args) {
  const r = await runSeam(['audit', 'query', dir, ...args, '--count']);
  assert.equal(r.code, 0, `query exit ${r.code}: ${r.stderr}`);
  return Number(r.stdout.trim());
}

describe('seam audit verify and query on a log written in the documented format', { timeout: 60000 }, () => {
  const entries = [];
  for (let i = 0; i < 8; i++) {
    entries.push({
      ts: `2025-06-01T0${i}:00:00.000Z`,
      id: `seam-${i}`,
      sensitivity: ['public', 'internal', 'regulated'][i % 3],
      location: i % 3 === 0 ? 'cloud' : 'local',
      status: 200,
    });
  }
  let dir;
  before(() => {
    dir = freshDir('js-log');
    writeLog(dir, entries);
  });

  it('verify: exit 0 with the line count and the head hash', async () => {
    const r = await verify(dir);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /OK: .* 8 lines in 3 files/);
    const head = JSON.parse(fs.readFileSync(path.join(dir, 'HEAD'), 'utf8'));
    assert.ok(r.stdout.includes(`head ${head.hash}`), r.stdout);
    const anchored = await runSeam(['audit', 'verify', dir, '--anchor', head.hash]);
    assert.equal(anchored.code, 0, anchored.stdout);
  });

  it('verify: exit 1 naming the place for an edit, a removed line and a missing file', async () => {
    let cp = copyLog(dir);
    editLine(cp, auditFiles(cp)[1], 2, '"status":200', '"status":201');
    let r = await verify(cp);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, new RegExp(`TAMPERED: .*${auditFiles(cp)[1]}:3: .*line 2 was edited`));

    cp = copyLog(dir);
    const f0 = path.join(cp, auditFiles(cp)[0]);
    const lines = fs.readFileSync(f0, 'utf8').split('\n');
    lines.splice(1, 1);
    fs.writeFileSync(f0, lines.join('\n'));
    r = await verify(cp);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, new RegExp(`${auditFiles(cp)[0]}:2: `));

    cp = copyLog(dir);
    fs.unlinkSync(path.join(cp, auditFiles(cp)[1]));
    r = await verify(cp);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /:1: first line does not chain .*00000002/);
  });

  it('verify: exit 2 on a directory that does not exist, and on bad usage', async () => {
    assert.equal((await verify(path.join(dir, 'nope'))).code, 2);
    assert.equal((await runSeam(['audit', 'frobnicate'])).code, 2);
    assert.equal((await runSeam(['audit', 'query', dir, '--where', 'novalue'])).code, 2);
  });

  it('query: --where, --since/--until, --format', async () => {
    assert.equal(await count(dir, '--where', 'sensitivity=regulated', '--where', 'location=cloud'), 0);
    assert.equal(await count(dir, '--where', 'sensitivity=regulated'), 2);
    assert.equal(await count(dir, '--where', 'location=cloud'), 3);
    assert.equal(await count(dir, '--where', 'status=200'), 8);
    assert.equal(await count(dir, '--since', '2025-06-01T03:00:00Z', '--until', '2025-06-01T06:00:00Z'), 3);
    assert.equal(await count(dir, '--since', '24h'), 0);
    const json = await runSeam(['audit', 'query', dir, '--where', 'sensitivity=regulated']);
    assert.equal(json.code, 0);
    const got = json.stdout.trim().split('\n').map((l) => JSON.parse(l).id);
    assert.deepEqual(got, ['seam-2', 'seam-5']);
    assert.match(json.stderr, /2 matching lines/);
    const table = await runSeam(['audit', 'query', dir, '--where', 'location=cloud', '--format', 'table']);
    assert.match(table.stdout, /SENSITIVITY/);
    assert.match(table.stdout, /3 matching lines/);
  });

  it('without DIR, uses audit.dir of the configuration', async () => {
    const yaml = seamConfig({ local: 'http://127.0.0.1:1', cloud: 'http://127.0.0.1:2' }) + `audit:\n  dir: ${dir}\n`;
    const file = writeConfig(yaml, 'audit');
    const r = await runSeam(['audit', 'verify', '-c', file]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const check = await runSeam(['check', '-c', file]);
    assert.ok(check.stdout.includes(dir), 'seam check prints the audit dir');
  });
});

describe('the audit log of a real seam run', { timeout: 120000 }, () => {
  const REGULATED = 4;
  const CLOUD = 3;
  const INTERNAL = 5;
  let s;
  let dir;
  const sent = { regulated: [], cloud: [], internal: [] };

  before(async () => {
    dir = freshDir('seam-audit');
    s = await startStack(({ local, cloud }) => seamConfig({ local, cloud }) + `audit:\n  dir: ${dir}\n  max_bytes: 4096\n`);
    const send = async (sens, headers) => {
      const { response } = await s.client.chat.completions
        .create({ model: 'auto', messages: [userMsg(sens, 'audit me [reply:ok]', rid())] }, { headers })
        .withResponse();
      return routingHeaders(response);
    };
    for (let i = 0; i < REGULATED; i++) sent.regulated.push(await send('regulated', { 'X-Seam-Sensitivity': 'regulated' }));
    for (let i = 0; i < CLOUD; i++)
      sent.cloud.push(await send('public', { 'X-Seam-Sensitivity': 'public', 'X-Seam-Kind': 'draft', 'X-Seam-Complexity': 'high' }));
    for (let i = 0; i < INTERNAL; i++) sent.internal.push(await send('internal', {}));
    // SIGTERM: everything queued must reach the file before seam exits.
    const code = await s.stop();
    assert.equal(code, 0, `seam exit: ${code}`);
    s = null;
  });
  after(async () => {
    if (s) await s.stop();
  });

  it('one line per request, chained, with HEAD on the last line', () => {
    assert.equal(sent.cloud.filter((h) => h.route === 'cloud').length, CLOUD, 'the drafting requests went to the cloud');
    const lines = checkChain(dir);
    assert.equal(lines.length, REGULATED + CLOUD + INTERNAL);
    assert.ok(auditFiles(dir).length > 1, 'max_bytes 4096 rotated the log');
    const byId = new Map(lines.map((l) => [l.id, l]));
    for (const h of sent.regulated) {
      const l = byId.get(h.requestId);
      assert.ok(l, `a line for ${h.requestId}`);
      assert.equal(l.sensitivity, 'regulated');
      assert.equal(l.location, 'local');
      assert.equal(l.backend, h.backend);
      assert.equal(l.rule, h.rule);
      assert.equal(l.ingress, 'openai');
      assert.equal(l.status, 200);
    }
    for (const h of sent.cloud) assert.equal(byId.get(h.requestId)?.location, 'cloud');
    // Never prompt text.
    const raw = auditFiles(dir)
      .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
      .join('');
    assert.ok(!raw.includes('audit me'), 'no prompt text in the audit log');
  });

  it('seam audit verify passes on the real log and fails on edited copies', async () => {
    let r = await verify(dir);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`${REGULATED + CLOUD + INTERNAL} lines`));

    const files = auditFiles(dir);
    let cp = copyLog(dir);
    editLine(cp, files[0], 1, '"status":200', '"status":201');
    r = await verify(cp);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, new RegExp(`${files[0]}:2: .*line 1 was edited`));

    cp = copyLog(dir);
    const lastFile = files[files.length - 1];
    const n = fs.readFileSync(path.join(cp, lastFile), 'utf8').split('\n').length - 1;
    editLine(cp, lastFile, n, '"status":200', '"status":500');
    r = await verify(cp);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, new RegExp(`${lastFile}:${n}: .*HEAD`));

    cp = copyLog(dir);
    fs.truncateSync(path.join(cp, lastFile), fs.statSync(path.join(cp, lastFile)).size - 5);
    r = await verify(cp);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, new RegExp(`${lastFile}:${n}: incomplete line`));
  });

  it('the compliance question: no regulated request reached a cloud model', async () => {
    assert.equal(await count(dir, '--since', '24h', '--where', 'sensitivity=regulated', '--where', 'location=cloud'), 0);
    assert.equal(await count(dir, '--since', '24h', '--where', 'sensitivity=regulated'), REGULATED);
    assert.equal(await count(dir, '--where', 'location=cloud'), CLOUD);
    const r = await runSeam(['audit', 'query', dir, '--where', 'sensitivity=regulated']);
    const ids = r.stdout.trim().split('\n').map((l) => JSON.parse(l).id);
    assert.deepEqual(ids.sort(), sent.regulated.map((h) => h.requestId).sort());
  });

  it('a restarted seam continues the chain; a burst then SIGTERM loses no line', async () => {
    const BURST = 40;
    s = await startStack(({ local, cloud }) => seamConfig({ local, cloud, workers: 4 }) + `audit:\n  dir: ${dir}\n`);
    const answers = await Promise.all(
      Array.from({ length: BURST }, () => s.client.chat.completions.create({ model: 'auto', messages: [userMsg('internal', 'again [reply:ok]', rid())] })),
    );
    assert.equal(answers.length, BURST);
    assert.equal(await s.stop(), 0);
    s = null;
    const lines = checkChain(dir);
    assert.equal(lines.length, REGULATED + CLOUD + INTERNAL + BURST);
    const r = await verify(dir);
    assert.equal(r.code, 0, r.stdout);
  });
});
