import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CannedServer, startCannedServer } from '../../../test/fakes/canned-server.js';
import { startFakeIdentityVerifier } from '../../../test/fakes/fake-identity-verifier.js';
import type { SignedJsonServer } from '../../../test/fakes/signed-json-server.js';
import { freePort } from '../../../test/support/ports.js';
import { rejectionOf } from '../../../test/support/rejection.js';
import { AppError } from '../../errors.js';
import { HttpIdentityVerifier, type HttpIdentityVerifierOptions } from './http-verifier.js';
import { VerifierUnavailable } from './identity-verifier.js';

const SECRET = 'a-shared-secret-of-some-length';
const ZHANG_SAN = { name: '张三', idNumber: '11010519491231002X' };
const LI_NA = { name: '李娜', idNumber: '330106198506123515' };

let fake: SignedJsonServer;

function verifierWith(overrides: Partial<HttpIdentityVerifierOptions> = {}): HttpIdentityVerifier {
  return new HttpIdentityVerifier({
    url: fake.url,
    appId: 'unified-id',
    secret: SECRET,
    timeoutMs: 2_000,
    retries: 2,
    ...overrides,
  });
}

async function unavailable(promise: Promise<unknown>): Promise<VerifierUnavailable> {
  const error = await rejectionOf(promise, VerifierUnavailable);
  expect(error).toBeInstanceOf(AppError);
  expect(error).toMatchObject({
    status: 503,
    code: 'verifier_unavailable',
    userMessage: '实名核验服务暂不可用，请稍后重试',
  });
  // The detail goes to logs: it must not carry the person.
  const text = `${error.message} ${String(error.cause)}`;
  for (const secretOfPerson of [ZHANG_SAN.name, ZHANG_SAN.idNumber, LI_NA.name, LI_NA.idNumber]) {
    expect(text).not.toContain(secretOfPerson);
  }
  return error;
}

beforeAll(async () => {
  fake = await startFakeIdentityVerifier(SECRET, [ZHANG_SAN, LI_NA]);
});

afterEach(() => {
  Object.assign(fake.faults, { down: false, hang: false, failNext: 0 });
});

afterAll(async () => {
  await fake.close();
});

describe('HttpIdentityVerifier against the fake service over HTTP', () => {
  it('answers match, mismatch and not_found, one signed request each', async () => {
    const verifier = verifierWith();
    expect(verifier.kind).toBe('http');
    const before = fake.requests;
    expect(await verifier.verify(ZHANG_SAN)).toBe('match');
    expect(await verifier.verify({ name: '张四', idNumber: ZHANG_SAN.idNumber })).toBe('mismatch');
    expect(await verifier.verify({ name: '王五', idNumber: '110105194912310036' })).toBe('not_found');
    expect(fake.requests - before).toBe(3);
    // The fake recorded only requests whose signature it verified; the body is exactly {name, idNumber}.
    expect(fake.received.at(-3)).toEqual(ZHANG_SAN);
  });

  it('is refused under a wrong secret, as unavailable, without retrying the 401', async () => {
    const before = fake.requests;
    const error = await unavailable(verifierWith({ secret: 'another-secret-of-some-length' }).verify(LI_NA));
    expect(error.reason).toBe('http_status');
    expect(error.message).toContain('HTTP 401 (BAD_SIGNATURE)');
    expect(fake.requests - before).toBe(1);
  });

  it('is refused when its clock is more than five minutes behind', async () => {
    const slow = verifierWith({ now: () => Date.now() - 6 * 60_000 });
    expect((await unavailable(slow.verify(LI_NA))).message).toContain('BAD_SIGNATURE');
  });

  it('retries a 503 and answers when the service recovers', async () => {
    fake.faults.failNext = 2;
    const before = fake.requests;
    expect(await verifierWith({ retries: 2 }).verify(LI_NA)).toBe('match');
    expect(fake.requests - before).toBe(3);
  });

  it('is unavailable when the service stays down, after the retries', async () => {
    fake.faults.down = true;
    const before = fake.requests;
    const error = await unavailable(verifierWith({ retries: 2 }).verify(ZHANG_SAN));
    expect(error.reason).toBe('http_status');
    expect(fake.requests - before).toBe(3);
  });

  it('does not retry at all with retries: 0', async () => {
    fake.faults.down = true;
    const before = fake.requests;
    await unavailable(verifierWith({ retries: 0 }).verify(ZHANG_SAN));
    expect(fake.requests - before).toBe(1);
  });

  it('gives up within the configured timeout when the service hangs', async () => {
    fake.faults.hang = true;
    const started = Date.now();
    const error = await unavailable(verifierWith({ timeoutMs: 300 }).verify(ZHANG_SAN));
    const elapsed = Date.now() - started;
    expect(error.reason).toBe('timeout');
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1_000);
  });

  it('is unavailable when nobody listens', async () => {
    const error = await unavailable(
      verifierWith({ url: `http://127.0.0.1:${await freePort()}/` }).verify(ZHANG_SAN),
    );
    expect(error.reason).toBe('unreachable');
  });

  it('does not retry a 400 for a body the service does not understand', async () => {
    const before = fake.requests;
    const error = await unavailable(verifierWith().verify({ name: 1 as unknown as string, idNumber: '1' }));
    expect(error.reason).toBe('http_status');
    expect(error.message).toContain('HTTP 400 (BAD_REQUEST)');
    expect(fake.requests - before).toBe(1);
  });
});

describe('HttpIdentityVerifier against a service answering nonsense', () => {
  let answer = '';
  let server: CannedServer;

  beforeAll(async () => {
    server = await startCannedServer(() => ({ body: answer }));
  });

  afterAll(async () => {
    await server.close();
  });

  it.each([
    ['an unknown result', '{"result":"yes"}', 'bad_answer'],
    ['a result in upper case', '{"result":"MATCH"}', 'bad_answer'],
    ['no result', '{}', 'bad_answer'],
    ['JSON null', 'null', 'bad_answer'],
    ['not JSON', '<html>维护中</html>', 'bad_answer'],
  ])('is unavailable on %s', async (_label, body, reason) => {
    answer = body;
    const verifier = new HttpIdentityVerifier({
      url: server.url,
      appId: 'unified-id',
      secret: SECRET,
      timeoutMs: 2_000,
    });
    expect((await unavailable(verifier.verify(ZHANG_SAN))).reason).toBe(reason);
  });
});
