// 200 concurrent streams through 2 workers: every stream complete and intact.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, userMsg, rid, collectStream, assertNoViolations, within, LOCAL_MODEL, CLOUD_MODEL } from './helpers.mjs';

const N = 200;
const CLOUD_TASK = { 'X-Seam-Kind': 'draft', 'X-Seam-Sensitivity': 'public', 'X-Seam-Complexity': 'high' };

/** A reply token sequence unique to request i. */
function replyFor(i) {
  const words = [];
  for (let k = 0; k < 12; k++) words.push(`r${i}w${k}x${((i * 31 + k * 17) % 97).toString(36)}`);
  return words.join(' ');
}

describe(`${N} concurrent streams through 2 workers`, { timeout: 120000 }, () => {
  let s;
  before(async () => {
    s = await startStack({ workers: 2 });
  });
  after(async () => {
    if (s && s.seam.running) await s.stop();
  });

  it('every stream completes with exactly the content its upstream sent', async () => {
    const jobs = [];
    for (let i = 0; i < N; i++) {
      const toCloud = i % 4 === 0; // a quarter goes to the cloud, the rest stays local
      const id = rid();
      const reply = replyFor(i);
      const msg = userMsg(toCloud ? 'public' : i % 2 ? 'internal' : 'regulated', `stream ${i} [reply:${reply}] [chunks:12] [delay:15]`, id);
      jobs.push(
        (async () => {
          const { data, response } = await s.client.chat.completions
            .create(
              { model: 'auto', stream: true, stream_options: { include_usage: i % 3 === 0 }, messages: [msg] },
              { headers: toCloud ? CLOUD_TASK : { 'X-Seam-Sensitivity': i % 2 ? 'internal' : 'regulated' }, timeout: 60000 },
            )
            .withResponse();
          const got = await collectStream(data);
          return { i, id, toCloud, reply, got, backend: response.headers.get('x-seam-backend') };
        })(),
      );
    }
    const results = await within(Promise.allSettled(jobs), 90000, `${N} concurrent streams`);
    const problems = [];
    for (const [k, r] of results.entries()) {
      if (r.status === 'rejected') {
        problems.push({ i: k, error: String(r.reason?.message ?? r.reason) });
        continue;
      }
      const { i, id, toCloud, reply, got, backend } = r.value;
      const up = toCloud ? s.cloud : s.local;
      const rec = up.find(id);
      const issues = [];
      if (got.content !== reply) issues.push(`content ${JSON.stringify(got.content.slice(0, 80))} != ${JSON.stringify(reply.slice(0, 80))}`);
      if (got.finish !== 'stop') issues.push(`finish ${got.finish}`);
      if (backend !== (toCloud ? 'frontier' : 'local')) issues.push(`backend ${backend}`);
      if (!rec) issues.push('not seen by the expected upstream');
      else if (rec.body.model !== (toCloud ? CLOUD_MODEL : LOCAL_MODEL)) issues.push(`model ${rec.body.model}`);
      if (new Set(got.chunks.map((c) => c.id)).size !== 1) issues.push('chunk ids differ within one stream');
      const usageChunks = got.chunks.filter((c) => c.choices.length === 0 && c.usage).length;
      if (usageChunks !== (i % 3 === 0 ? 1 : 0)) issues.push(`usage chunks ${usageChunks}`);
      if (issues.length) problems.push({ i, issues });
    }
    assert.deepEqual(problems.slice(0, 10), [], `${problems.length} of ${N} streams broken (first 10 shown)`);
    assert.equal(s.local.chatRequests().length + s.cloud.chatRequests().length, N, 'each request reached an upstream exactly once');
  });

  it('seam still answers afterwards, invariant holds, exits 0', async () => {
    const id = rid();
    const r = await s.client.chat.completions.create({ model: 'auto', messages: [userMsg('internal', 'after [reply:fine]', id)] });
    assert.equal(r.choices[0].message.content, 'fine');
    const code = await s.stop();
    assertNoViolations(s.cloud);
    assert.equal(code, 0);
  });
});
