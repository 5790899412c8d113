// stream_resume: a stream that breaks after tokens reached the client is
// continued on the pool's next backend, which receives the original
// messages plus the partial answer as the assistant's turn, and the
// continuation is spliced into the same client stream. Without
// stream_resume (the default) the same break ends the stream with an SSE
// error object and [DONE], as the chaos suite checks.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startSeam, startFakeOpenAI, rid, tagged, LOCAL_MODEL } from './helpers.mjs';

function config(a, b, resume) {
  return `# stream_resume test config (generated)
listen: 127.0.0.1:0
workers: 1
limits: { request_timeout_ms: 10000 }
backends:
  - { name: local-a, provider: openai, url: ${a}, location: local, models: [${LOCAL_MODEL}] }
  - { name: local-b, provider: openai, url: ${b}, location: local, models: [${LOCAL_MODEL}] }
pools:
  local: { backends: [local-a, local-b], strategy: round_robin, retries: 1, stream_resume: ${resume} }
policy:
  default: local
`;
}

for (const resume of [true, false]) {
  describe(`a stream broken after tokens, stream_resume: ${resume}`, () => {
    let a, b, seam, client;
    before(async () => {
      a = await startFakeOpenAI({ name: 'local-a', model: LOCAL_MODEL });
      b = await startFakeOpenAI({ name: 'local-b', model: LOCAL_MODEL });
      // Whichever backend is asked first breaks after two words; the other
      // continues (it sees the partial answer as the last assistant turn).
      let first = true;
      const script = (rec) => {
        if (first) {
          first = false;
          return { type: 'reset', content: 'The quick brown fox', chunks: 4, afterChunks: 2, delayMs: 5 };
        }
        return { type: 'text', content: ' jumps over the dog.', chunks: 3, delayMs: 5 };
      };
      a.setScript(script);
      b.setScript(script);
      seam = await startSeam(config(a.url, b.url, resume));
      client = new OpenAI({ baseURL: seam.baseURL, apiKey: 'unused', maxRetries: 0 });
    });
    after(async () => {
      assert.equal(await seam.stop(), 0);
      await a.close();
      await b.close();
    });

    it(resume ? 'is continued on the other backend, in the same stream' : 'ends with an error event', async () => {
      const id = rid();
      const stream = await client.chat.completions.create({
        model: 'auto',
        stream: true,
        messages: [{ role: 'user', content: tagged('internal', 'tell me about the fox', id) }],
      });
      let text = '';
      let finish = null;
      const run = async () => {
        for await (const chunk of stream) {
          text += chunk.choices[0]?.delta?.content ?? '';
          finish = chunk.choices[0]?.finish_reason ?? finish;
        }
      };
      if (!resume) {
        await assert.rejects(run(), (e) => e instanceof OpenAI.APIError);
        assert.equal(text, 'The quick ', 'the tokens sent before the break');
        return;
      }
      await run();
      assert.equal(text, 'The quick  jumps over the dog.', 'partial answer + continuation');
      assert.equal(finish, 'stop');
      const reqs = [...a.chatRequests(), ...b.chatRequests()].filter((r) => r.rawBody.includes(id));
      assert.equal(reqs.length, 2, 'two attempts');
      const cont = reqs.find((r) => r.body.messages.at(-1).role === 'assistant');
      assert.ok(cont, 'the continuation carries the partial answer as the last assistant turn');
      assert.equal(cont.body.messages.at(-1).content, 'The quick ');
    });
  });
}
