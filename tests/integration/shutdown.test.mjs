// Graceful shutdown: SIGTERM while a slow stream is in flight → that stream
// completes (finish chunk and [DONE] included), new connections are refused
// while it drains, and seam exits 0. One scenario, checked by several tests
// so that each property is reported on its own.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { startStack, userMsg, rid, waitUntil, within, assertNoViolations, sanitizerReport } from './helpers.mjs';

/** Resolves 'refused' | 'accepted' | 'timeout' | 'error X' for a fresh TCP connection. */
function tryConnect(listen) {
  const i = listen.lastIndexOf(':');
  return new Promise((resolve) => {
    const sock = net.connect({ host: listen.slice(0, i), port: Number(listen.slice(i + 1)) });
    const t = setTimeout(() => {
      sock.destroy();
      resolve('timeout');
    }, 1000);
    sock.once('connect', () => {
      clearTimeout(t);
      sock.destroy();
      resolve('accepted');
    });
    sock.once('error', (e) => {
      clearTimeout(t);
      resolve(e.code === 'ECONNREFUSED' ? 'refused' : `error ${e.code}`);
    });
  });
}

describe('graceful shutdown', { timeout: 60000 }, () => {
  let s;
  const words = [];
  for (let k = 0; k < 20; k++) words.push(`s${k}`);
  const content = words.join(' ');
  const outcome = { raw: '', ended: null, streamError: null, refused: null, refusedWhileInFlight: null, exit: null, acceptedBefore: null };

  before(async () => {
    s = await startStack();
  });
  after(async () => {
    if (s) await s.stop();
  });

  it('scenario: a slow stream in flight, SIGTERM after its first token', async () => {
    const id = rid();
    s.local.setScript((req) => (req.rawBody.includes(id) ? { type: 'text', content, chunks: 20, delayMs: 150 } : null));
    outcome.acceptedBefore = await tryConnect(s.seam.listen);
    const body = JSON.stringify({ model: 'auto', stream: true, messages: [userMsg('internal', 'long one', id)] });
    const i = s.seam.listen.lastIndexOf(':');
    let probe = null;
    await within(
      new Promise((resolve) => {
        const req = http.request(
          { host: s.seam.listen.slice(0, i), port: Number(s.seam.listen.slice(i + 1)), method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, agent: false },
          (res) => {
            let signalled = false;
            res.setEncoding('utf8');
            res.on('data', (d) => {
              outcome.raw += d;
              if (!signalled && outcome.raw.includes('"content":"s0')) {
                signalled = true;
                s.seam.proc.kill('SIGTERM');
                // While the stream is still going, fresh connections must be refused.
                probe = waitUntil(async () => (await tryConnect(s.seam.listen)) === 'refused', { timeoutMs: 2000, intervalMs: 50, what: 'new connections to be refused' }).then(
                  () => {
                    const rec = s.local.find(id);
                    outcome.refused = true;
                    outcome.refusedWhileInFlight = !!rec && !rec.completed;
                  },
                  () => {
                    outcome.refused = false;
                  },
                );
              }
            });
            res.on('end', () => {
              outcome.ended = 'end';
              resolve();
            });
            res.on('error', (e) => {
              outcome.streamError = e.message;
              resolve();
            });
            res.on('aborted', () => {
              outcome.streamError ??= 'aborted by the server';
            });
          },
        );
        req.on('error', (e) => {
          outcome.streamError = `request error: ${e.message}`;
          resolve();
        });
        req.end(body);
      }),
      20000,
      'the in-flight stream',
    );
    if (probe) await probe;
    outcome.exit = await within(s.seam.exited, 35000, 'seam exit after SIGTERM');
    assert.equal(outcome.acceptedBefore, 'accepted', 'seam accepted connections before SIGTERM');
  });

  it('the in-flight stream completed: all content, the finish chunk, then [DONE]', () => {
    const events = outcome.raw.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
    let got = '';
    let finish = null;
    for (const e of events) {
      if (e === '[DONE]') continue;
      for (const c of JSON.parse(e).choices ?? []) {
        got += c.delta?.content ?? '';
        finish = c.finish_reason ?? finish;
      }
    }
    assert.equal(got, content, 'content intact');
    assert.equal(finish, 'stop', `finish chunk received; stream error: ${outcome.streamError}; tail: ${JSON.stringify(outcome.raw.slice(-200))}`);
    assert.equal(events.at(-1), '[DONE]', `ends with [DONE]; stream error: ${outcome.streamError}`);
    assert.equal(outcome.streamError, null, 'the connection was not cut');
  });

  it('new connections were refused while the stream was still in flight', () => {
    assert.equal(outcome.refused, true, 'a fresh TCP connect got ECONNREFUSED within 2 s of SIGTERM');
    assert.equal(outcome.refusedWhileInFlight, true, 'and that happened before the stream finished');
  });

  it('seam exited 0', () => {
    assert.deepEqual(outcome.exit, { code: 0, signal: null }, `exit; stderr tail:\n${s.seam.stderr().slice(-1500)}`);
    assert.equal(sanitizerReport(s.seam.stderr()), null, 'no sanitizer report');
    assertNoViolations(s.cloud);
  });
});
