// The fake upstream itself, driven straight by the OpenAI SDK (no seam): it
// must speak OpenAI's wire format exactly, or the other suites prove nothing.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { startFakeOpenAI } from '../upstreams/fake-openai.mjs';
import { collectStream, parseSSE, waitUntil } from './helpers.mjs';

describe('fake OpenAI upstream (SDK pointed straight at it)', { timeout: 30000 }, () => {
  let up;
  let client;
  before(async () => {
    up = await startFakeOpenAI({ name: 'cloud', model: 'gpt-5.1', clearance: 'public' });
    client = new OpenAI({ baseURL: `${up.url}/v1`, apiKey: 'k', maxRetries: 0, timeout: 5000 });
  });
  after(async () => {
    await up?.close();
  });

  it('non-stream reply with the [reply:] directive, OpenAI shape', async () => {
    const r = await client.chat.completions.create({ model: 'gpt-5.1', messages: [{ role: 'user', content: '[sens:public] [reply:one two three]' }] });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices[0].message.content, 'one two three');
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  });

  it('stream: role chunk, deltas, finish chunk, usage chunk only when asked, [DONE]', async () => {
    const s1 = await client.chat.completions.create({ model: 'gpt-5.1', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: '[sens:public] [reply:alpha beta gamma] [chunks:3]' }] });
    const g = await collectStream(s1);
    assert.equal(g.content, 'alpha beta gamma');
    assert.deepEqual(g.chunks[0].choices[0].delta, { role: 'assistant', content: '', refusal: null });
    assert.deepEqual(g.chunks.at(-2).choices[0].delta, {});
    assert.equal(g.chunks.at(-2).choices[0].finish_reason, 'stop');
    assert.deepEqual(g.chunks.at(-1).choices, []);
    assert.ok(g.usage);
    const res = await fetch(`${up.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'x', stream: true, messages: [{ role: 'user', content: '[sens:public] hi' }] }) });
    const ev = parseSSE(await res.text());
    assert.equal(ev.at(-1).data, '[DONE]');
    assert.ok(ev.slice(0, -1).every((e) => !('usage' in JSON.parse(e.data))), 'no usage key when not asked');
  });

  it('tool calls stream as argument fragments by index', async () => {
    up.setScript({ type: 'tools', toolCalls: [{ id: 'call_a', name: 'f', arguments: { x: [1, 2, 3], y: 'z' } }, { id: 'call_b', name: 'g', arguments: '{}' }], fragments: 4 });
    try {
      const fin = await client.chat.completions.stream({ model: 'gpt-5.1', messages: [{ role: 'user', content: '[sens:public]' }], tools: [{ type: 'function', function: { name: 'f' } }] }).finalChatCompletion();
      const tc = fin.choices[0].message.tool_calls;
      assert.equal(fin.choices[0].finish_reason, 'tool_calls');
      assert.deepEqual(tc.map((c) => [c.id, c.function.name, JSON.parse(c.function.arguments)]), [['call_a', 'f', { x: [1, 2, 3], y: 'z' }], ['call_b', 'g', {}]]);
    } finally {
      up.setScript(null);
    }
  });

  it('errors map to the SDK error classes, Retry-After included', async () => {
    for (const [status, cls] of [[400, 'BadRequestError'], [429, 'RateLimitError'], [500, 'InternalServerError']]) {
      up.setScript({ type: 'error', status, headers: status === 429 ? { 'retry-after': '2' } : {} });
      await assert.rejects(client.chat.completions.create({ model: 'gpt-5.1', messages: [{ role: 'user', content: '[sens:public]' }] }), (e) => {
        assert.equal(e.constructor.name, cls);
        assert.equal(e.status, status);
        if (status === 429) assert.equal(e.headers.get('retry-after'), '2');
        return true;
      });
    }
    up.setScript(null);
  });

  it('faults: mid-stream error event, reset, garbage, hang; cancel seen', async () => {
    up.setScript({ type: 'stream-error', afterChunks: 2, content: 'a b c d' });
    await assert.rejects((async () => collectStream(await client.chat.completions.create({ model: 'gpt-5.1', stream: true, messages: [{ role: 'user', content: '[sens:public]' }] })))(), (e) => e.constructor.name === 'APIError');
    up.setScript({ type: 'reset', afterChunks: 1 });
    await assert.rejects((async () => collectStream(await client.chat.completions.create({ model: 'gpt-5.1', stream: true, messages: [{ role: 'user', content: '[sens:public]' }] })))());
    up.setScript({ type: 'garbage' });
    await assert.rejects(client.chat.completions.create({ model: 'gpt-5.1', messages: [{ role: 'user', content: '[sens:public]' }] }));
    up.setScript({ type: 'hang' });
    await assert.rejects(client.chat.completions.create({ model: 'gpt-5.1', messages: [{ role: 'user', content: '[sens:public] [rid-hang]' }] }, { timeout: 300 }));
    const rec = up.find('[rid-hang]');
    await waitUntil(() => rec.cancelSeen, { timeoutMs: 2000, what: 'cancel seen' });
    up.setScript(null);
  });

  it('GET /v1/models answers the list shape', async () => {
    const page = await client.models.list();
    assert.deepEqual(page.data.map((m) => [m.id, m.object]), [['gpt-5.1', 'model']]);
  });

  it('records a violation for non-public or untagged requests at public clearance', async () => {
    const before = up.violations.length;
    await client.chat.completions.create({ model: 'gpt-5.1', messages: [{ role: 'user', content: '[sens:regulated] x' }] });
    await client.chat.completions.create({ model: 'gpt-5.1', messages: [{ role: 'user', content: 'untagged' }] });
    assert.equal(up.violations.length, before + 2);
    up.violations.length = before; // these were deliberate
  });

  it('standalone mode prints its URL and serves', async () => {
    const { spawn } = await import('node:child_process');
    const script = fileURLToPath(new URL('../upstreams/fake-openai.mjs', import.meta.url));
    const p = spawn(process.execPath, [script, '--port', '0', '--name', 'solo'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise((resolve, reject) => {
        let out = '';
        const t = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 5000);
        p.stdout.on('data', (d) => {
          out += d;
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m) {
            clearTimeout(t);
            resolve(m[1]);
          }
        });
      });
      const body = await new Promise((resolve, reject) => {
        http.get(`${url}/v1/models`, (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve(JSON.parse(b)));
        }).on('error', reject);
      });
      assert.equal(body.object, 'list');
    } finally {
      p.kill('SIGTERM');
    }
  });
});
