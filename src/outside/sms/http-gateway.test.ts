import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CannedServer, startCannedServer } from '../../../test/fakes/canned-server.js';
import { type FakeSmsGateway, startFakeSmsGateway } from '../../../test/fakes/fake-sms-gateway.js';
import { freePort } from '../../../test/support/ports.js';
import { rejectionOf } from '../../../test/support/rejection.js';
import { SIGNATURE_HEADERS, signRequest } from './hmac.js';
import { HttpSmsGateway, type HttpSmsGatewayOptions } from './http-gateway.js';
import { SMS_TEMPLATE_VERIFICATION_CODE, type SmsMessage, SmsSendFailed, smsText } from './sms-gateway.js';

const SECRET = 'a-shared-secret-of-some-length';
const APP_ID = 'unified-id';
const PHONE = '+8613800138000';

let fake: FakeSmsGateway;

function gatewayWith(overrides: Partial<HttpSmsGatewayOptions> = {}): HttpSmsGateway {
  return new HttpSmsGateway({
    url: fake.url,
    appId: APP_ID,
    secret: SECRET,
    timeoutMs: 2_000,
    retries: 2,
    ...overrides,
  });
}

function message(code = '123456', phone = PHONE): SmsMessage {
  return { phone, templateId: SMS_TEMPLATE_VERIFICATION_CODE, params: { code }, text: smsText(code) };
}

async function sendFailure(promise: Promise<unknown>): Promise<SmsSendFailed> {
  const error = await rejectionOf(promise, SmsSendFailed);
  expect(error).toMatchObject({
    status: 502,
    code: 'sms_send_failed',
    userMessage: '短信发送失败，请稍后重试',
  });
  return error;
}

beforeAll(async () => {
  fake = await startFakeSmsGateway(SECRET, { appId: APP_ID });
});

afterEach(() => {
  Object.assign(fake.faults, { down: false, hang: false, failNext: 0, reject: false });
});

afterAll(async () => {
  await fake.close();
});

describe('HttpSmsGateway against the fake gateway over HTTP', () => {
  it('delivers a signed message the fake accepts, and the test can read the code', async () => {
    const before = fake.requests;
    await gatewayWith().send(message('654321'));
    expect(fake.requests - before).toBe(1);
    expect(fake.codeFor(PHONE)).toBe('654321');
    const body = fake.received.at(-1)!;
    expect(body).toEqual({
      appId: APP_ID,
      phone: PHONE,
      templateId: 'UNIFIED_ID_VERIFICATION_CODE',
      params: { code: '654321' },
      timestamp: expect.any(Number),
      nonce: expect.any(String),
    });
    // The text is the gateway's template to render; it is not sent.
    expect(body).not.toHaveProperty('text');
    expect(Math.abs((body['timestamp'] as number) - Date.now() / 1000)).toBeLessThan(5);
  });

  it('is refused with BAD_SIGNATURE under a wrong secret, and does not retry a 4xx', async () => {
    const before = fake.requests;
    const error = await sendFailure(gatewayWith({ secret: 'another-secret-of-some-length' }).send(message()));
    expect(error.reason).toBe('http_status');
    expect(error.message).toContain('HTTP 401');
    expect(error.message).toContain('BAD_SIGNATURE');
    expect(fake.requests - before).toBe(1);
  });

  it('is refused when its clock is more than five minutes off, accepted at four', async () => {
    const fast = gatewayWith({ now: () => Date.now() + 6 * 60_000 });
    expect((await sendFailure(fast.send(message()))).message).toContain('BAD_SIGNATURE');
    await gatewayWith({ now: () => Date.now() - 4 * 60_000 }).send(message('111111'));
    expect(fake.codeFor(PHONE)).toBe('111111');
  });

  it('the fake refuses a tampered body and a replayed nonce', async () => {
    const body = JSON.stringify({
      appId: APP_ID,
      phone: PHONE,
      templateId: 'T',
      params: {},
      timestamp: 1,
      nonce: 'x',
    });
    const signed = signRequest(SECRET, body, {
      timestamp: String(Math.floor(Date.now() / 1000)),
      nonce: 'nonce-abcdefgh',
    });
    const post = (text: string) =>
      fetch(fake.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADERS.appId]: APP_ID,
          [SIGNATURE_HEADERS.timestamp]: signed.timestamp,
          [SIGNATURE_HEADERS.nonce]: signed.nonce,
          [SIGNATURE_HEADERS.signature]: signed.signature,
        },
        body: text,
      });
    const tampered = await post(body.replace(PHONE, '+8613900139000'));
    expect(tampered.status).toBe(401);
    expect(await tampered.json()).toEqual({ code: 'BAD_SIGNATURE' });
    expect((await post(body)).status).toBe(200);
    const replayed = await post(body);
    expect(replayed.status).toBe(401);
    expect(await replayed.json()).toEqual({ code: 'BAD_SIGNATURE' });
  });

  it('fails with SmsSendFailed when the gateway rejects the message, without retrying', async () => {
    fake.faults.reject = true;
    const before = fake.requests;
    const error = await sendFailure(gatewayWith().send(message()));
    expect(error.reason).toBe('refused');
    expect(error.message).toContain('REJECTED');
    expect(fake.requests - before).toBe(1);
  });

  it('retries a 503 and succeeds when the gateway recovers', async () => {
    fake.faults.failNext = 2;
    const before = fake.requests;
    await gatewayWith({ retries: 2 }).send(message('222222'));
    expect(fake.requests - before).toBe(3);
    expect(fake.codeFor(PHONE)).toBe('222222');
  });

  it('gives up with SmsSendFailed when the gateway stays down', async () => {
    fake.faults.down = true;
    const before = fake.requests;
    const error = await sendFailure(gatewayWith({ retries: 2 }).send(message()));
    expect(error.reason).toBe('http_status');
    expect(error.message).toContain('HTTP 503');
    expect(error.message).toContain('3 attempt(s)');
    expect(fake.requests - before).toBe(3);
  });

  it('gives up within the configured timeout when the gateway hangs, and does not send again', async () => {
    fake.faults.hang = true;
    const before = fake.requests;
    const started = Date.now();
    const error = await sendFailure(gatewayWith({ timeoutMs: 300 }).send(message()));
    const elapsed = Date.now() - started;
    expect(error.reason).toBe('timeout');
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1_000);
    expect(fake.requests - before).toBe(1);
  });

  it('keeps retries and their pauses within the time budget', async () => {
    fake.faults.failNext = 1;
    const before = fake.requests;
    // The first attempt gets a 503; the retry hangs; the whole call still ends at the budget.
    const hangAfterFirst = setInterval(() => {
      if (fake.requests - before >= 1) fake.faults.hang = true;
    }, 5);
    try {
      const started = Date.now();
      const error = await sendFailure(gatewayWith({ timeoutMs: 400 }).send(message()));
      expect(error.reason).toBe('timeout');
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      clearInterval(hangAfterFirst);
    }
  });

  it('reports a gateway nobody listens on as unreachable, after retrying', async () => {
    const nobody = gatewayWith({ url: `http://127.0.0.1:${await freePort()}/` });
    const error = await sendFailure(nobody.send(message()));
    expect(error.reason).toBe('unreachable');
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).toContain('3 attempt(s)');
  });

  it('does not send a phone number that is not E.164, and does not echo it', async () => {
    const before = fake.requests;
    const error = await sendFailure(gatewayWith().send(message('123456', '13800138000')));
    expect(error.reason).toBe('invalid_message');
    expect(error.message).not.toContain('13800138000');
    expect(fake.requests).toBe(before);
  });

  it('refuses a misconfiguration at construction', () => {
    expect(() => gatewayWith({ url: 'not a url' })).toThrow(/SMS gateway: the URL/);
    expect(() => gatewayWith({ url: 'ftp://sms.example.gov.cn/' })).toThrow(/http\(s\)/);
    expect(() => gatewayWith({ secret: '' })).toThrow(/secret/);
    expect(() => gatewayWith({ timeoutMs: 0 })).toThrow(/timeoutMs/);
  });
});

describe('HttpSmsGateway against a gateway answering nonsense', () => {
  let answer: { status: number; type: string; body: string } = {
    status: 200,
    type: 'text/plain',
    body: 'OK',
  };
  let server: CannedServer;

  beforeAll(async () => {
    server = await startCannedServer(() => answer);
  });

  afterAll(async () => {
    await server.close();
  });

  const cases: Array<[string, { status: number; type: string; body: string }, string]> = [
    ['text instead of JSON', { status: 200, type: 'text/plain', body: 'OK' }, 'bad_answer'],
    [
      'JSON without code OK',
      { status: 200, type: 'application/json', body: '{"messageId":"m1"}' },
      'refused',
    ],
    [
      'code OK without messageId',
      { status: 200, type: 'application/json', body: '{"code":"OK"}' },
      'refused',
    ],
    [
      'code ok in lower case',
      { status: 200, type: 'application/json', body: '{"code":"ok","messageId":"m1"}' },
      'refused',
    ],
    ['JSON null', { status: 200, type: 'application/json', body: 'null' }, 'refused'],
    ['a redirect', { status: 302, type: 'text/plain', body: '' }, 'http_status'],
    [
      'an oversized answer',
      { status: 200, type: 'application/json', body: `"${'x'.repeat(100_000)}"` },
      'bad_answer',
    ],
  ];

  it.each(cases)('treats %s as a failure, once', async (_label, given, reason) => {
    answer = given;
    const before = server.hits;
    const gateway = new HttpSmsGateway({ url: server.url, appId: APP_ID, secret: SECRET, timeoutMs: 2_000 });
    const error = await sendFailure(gateway.send(message()));
    expect(error.reason).toBe(reason);
    expect(server.hits - before).toBe(1);
  });
});
