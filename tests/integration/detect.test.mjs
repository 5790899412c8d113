// Sensitive-data detection and redaction through the real binary (issue 3):
// detection raises a declared sensitivity and keeps the request local;
// redaction sends placeholders to the cloud and restores the values in the
// answer, streamed (split anywhere) and not, tool-call arguments included.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startStack,
  seamConfig,
  tagged,
  assertRouting,
  assertNoViolations,
  collectStream,
} from './helpers.mjs';

const CARD = '4485 2757 4230 8327';
const EMAIL = 'jane.doe@example.org';
const SSN = '536-22-1234';

const RULES = `    - { name: redact-drafts, when: { kind: [draft] }, route: cloud, redact: true }
    - { name: sensitive-stays-local, when: { sensitivity: [internal, regulated] }, route: local }
    - { name: hard-chat-to-cloud, when: { kind: [chat], complexity: [high] }, route: cloud }`;

function configWithDetect(urls) {
  return seamConfig({ ...urls, rules: RULES }) + 'detect:\n  allow_redact_header: true\n';
}

/** The cloud fake must never see an original value. */
function assertNoOriginals(fake) {
  for (const r of fake.requests) {
    for (const v of [CARD, EMAIL, SSN, '4485275742308327']) {
      assert.ok(!r.rawBody.includes(v), `the cloud received an original value in request ${r.id}`);
    }
  }
}

describe('detection and redaction', () => {
  let s;
  before(async () => {
    s = await startStack((urls) => configWithDetect(urls));
  });
  after(async () => {
    if (s) {
      assertNoOriginals(s.cloud);
      assertNoViolations(s.cloud);
      assert.equal(await s.stop(), 0);
    }
  });

  it('a request declared public but carrying a card number stays local', async () => {
    const { data, response } = await s.client.chat.completions
      .create(
        { model: 'auto', messages: [{ role: 'user', content: tagged('public', `charge card ${CARD} please`) }] },
        { headers: { 'X-Seam-Sensitivity': 'public', 'X-Seam-Complexity': 'high' } },
      )
      .withResponse();
    assertRouting(response, { route: 'local', rule: 'sensitive-stays-local' });
    assert.equal(response.headers.get('x-seam-detected'), 'CREDIT_CARD=1');
    assert.ok(data.choices[0].message.content.length > 0);
  });

  it('the same request without sensitive data goes to the cloud', async () => {
    const { response } = await s.client.chat.completions
      .create(
        { model: 'auto', messages: [{ role: 'user', content: tagged('public', 'explain monads briefly') }] },
        { headers: { 'X-Seam-Sensitivity': 'public', 'X-Seam-Complexity': 'high' } },
      )
      .withResponse();
    assertRouting(response, { route: 'cloud', rule: 'hard-chat-to-cloud' });
    assert.equal(response.headers.get('x-seam-detected'), null);
  });

  it('values in tool-call arguments and tool results are detected too', async () => {
    const { response } = await s.client.chat.completions
      .create(
        {
          model: 'auto',
          messages: [
            { role: 'user', content: tagged('public', 'look this customer up') },
            {
              role: 'assistant',
              content: null,
              tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: JSON.stringify({ ssn: SSN }) } }],
            },
            { role: 'tool', tool_call_id: 'call_1', content: `email on file: ${EMAIL}` },
          ],
        },
        { headers: { 'X-Seam-Sensitivity': 'public', 'X-Seam-Complexity': 'high' } },
      )
      .withResponse();
    assertRouting(response, { route: 'local' });
    assert.match(response.headers.get('x-seam-detected'), /US_SSN=1/);
    assert.match(response.headers.get('x-seam-detected'), /EMAIL=1/);
  });

  it('an image keeps a public request local (images cannot be read)', async () => {
    const { response } = await s.client.chat.completions
      .create(
        {
          model: 'auto',
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: tagged('public', 'what is in this picture?') },
                { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
              ],
            },
          ],
        },
        { headers: { 'X-Seam-Sensitivity': 'public', 'X-Seam-Complexity': 'high' } },
      )
      .withResponse();
    assertRouting(response, { route: 'local' });
  });

  it('redaction by rule: placeholders reach the cloud, values come back (non-stream)', async () => {
    s.cloud.setScript(() => ({ type: 'text', content: 'Mailed [EMAIL_1] about card [CREDIT_CARD_1]; ignore [EMAIL_7].' }));
    try {
      const { data, response } = await s.client.chat.completions
        .create(
          {
            model: 'auto',
            messages: [{ role: 'user', content: tagged('public', `write to ${EMAIL} about card ${CARD}, again ${EMAIL}`) }],
          },
          { headers: { 'X-Seam-Sensitivity': 'public', 'X-Seam-Kind': 'draft' } },
        )
        .withResponse();
      assertRouting(response, { route: 'cloud', backend: 'frontier', rule: 'redact-drafts' });
      assert.equal(response.headers.get('x-seam-redacted'), '2');
      assert.equal(data.choices[0].message.content, `Mailed ${EMAIL} about card ${CARD}; ignore [EMAIL_7].`);
      const sent = s.cloud.chatRequests().at(-1).body.messages[0].content;
      assert.match(sent, /write to \[EMAIL_1\] about card \[CREDIT_CARD_1\], again \[EMAIL_1\]/);
    } finally {
      s.cloud.setScript(null);
    }
  });

  it('redaction: a placeholder split at every point of a stream is restored', async () => {
    const content = 'To [EMAIL_1]: your card [CREDIT_CARD_1] is on file. [[EMAIL_1]]';
    s.cloud.setScript(() => ({ type: 'text', content, chunks: content.length }));
    try {
      const stream = await s.client.chat.completions.create(
        {
          model: 'auto',
          stream: true,
          messages: [{ role: 'user', content: tagged('public', `card ${CARD} for ${EMAIL}`) }],
        },
        { headers: { 'X-Seam-Sensitivity': 'public', 'X-Seam-Kind': 'draft' } },
      );
      const { content: got } = await collectStream(stream);
      assert.equal(got, `To ${EMAIL}: your card ${CARD} is on file. [${EMAIL}]`);
    } finally {
      s.cloud.setScript(null);
    }
  });

  for (const stream of [false, true]) {
    it(`redaction: values are restored in tool-call arguments (stream: ${stream})`, async () => {
      s.cloud.setScript(() => ({
        type: 'tools',
        fragments: 7,
        toolCalls: [{ id: 'call_9', name: 'send_mail', arguments: { to: '[EMAIL_1]', body: 'card [CREDIT_CARD_1]' } }],
      }));
      try {
        const req = {
          model: 'auto',
          stream,
          tools: [{ type: 'function', function: { name: 'send_mail', parameters: { type: 'object' } } }],
          messages: [{ role: 'user', content: tagged('public', `mail ${EMAIL} about ${CARD}`) }],
        };
        const opts = { headers: { 'X-Seam-Sensitivity': 'public', 'X-Seam-Kind': 'draft' } };
        let args;
        if (stream) {
          const r = await collectStream(await s.client.chat.completions.create(req, opts));
          args = r.toolCalls[0].arguments;
        } else {
          const r = await s.client.chat.completions.create(req, opts);
          args = r.choices[0].message.tool_calls[0].function.arguments;
        }
        assert.deepEqual(JSON.parse(args), { to: EMAIL, body: `card ${CARD}` });
      } finally {
        s.cloud.setScript(null);
      }
    });
  }

  it('redaction on request (X-Seam-Redact) decides again at the declared level', async () => {
    s.cloud.setScript(() => ({ type: 'text', content: 'noted [EMAIL_1]' }));
    try {
      const { data, response } = await s.client.chat.completions
        .create(
          { model: 'auto', messages: [{ role: 'user', content: tagged('public', `ping ${EMAIL}`) }] },
          { headers: { 'X-Seam-Sensitivity': 'public', 'X-Seam-Complexity': 'high', 'X-Seam-Redact': 'true' } },
        )
        .withResponse();
      assertRouting(response, { route: 'cloud', rule: 'hard-chat-to-cloud' });
      assert.equal(data.choices[0].message.content, `noted ${EMAIL}`);
    } finally {
      s.cloud.setScript(null);
    }
  });

  it('declared regulated never leaves, redacted or not', async () => {
    const before = s.cloud.requests.length;
    let status;
    try {
      await s.client.chat.completions.create(
        { model: 'auto', messages: [{ role: 'user', content: tagged('regulated', `ping ${EMAIL}`) }] },
        { headers: { 'X-Seam-Sensitivity': 'regulated', 'X-Seam-Kind': 'draft' } },
      );
      status = 200;
    } catch (e) {
      status = e.status;
    }
    assert.equal(status, 503); // the redact rule routes to the cloud; the invariant refuses
    assert.equal(s.cloud.requests.length, before);
  });
});
