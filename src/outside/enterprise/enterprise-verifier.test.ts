import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CannedServer, startCannedServer } from '../../../test/fakes/canned-server.js';
import { startFakeEnterpriseVerifier } from '../../../test/fakes/fake-enterprise-verifier.js';
import type { SignedJsonServer } from '../../../test/fakes/signed-json-server.js';
import { rejectionOf } from '../../../test/support/rejection.js';
import { AppError } from '../../errors.js';
import { createOutsideServices } from '../factory.js';
import { DevEnterpriseVerifier } from './dev-verifier.js';
import { EnterpriseVerifierUnavailable } from './enterprise-verifier.js';
import { HttpEnterpriseVerifier } from './http-verifier.js';

const SECRET = 'an-enterprise-registry-secret';
const QUERY = {
  creditCode: '91350100M000100Y43',
  orgName: '福建某某科技有限公司',
  legalType: 'enterprise',
  representativeName: '林则徐',
  representativeIdNumber: '11010519491231002X',
};

async function unavailable(promise: Promise<unknown>): Promise<Error> {
  const error = await rejectionOf(promise, EnterpriseVerifierUnavailable);
  expect(error).toBeInstanceOf(AppError);
  expect(error).toMatchObject({
    status: 503,
    code: 'enterprise_verifier_unavailable',
    userMessage: '企业信息核验服务暂不可用，请稍后重试',
  });
  // The detail goes to logs: not the representative.
  const text = `${error.message} ${String(error.cause)}`;
  expect(text).not.toContain(QUERY.representativeName);
  expect(text).not.toContain(QUERY.representativeIdNumber);
  return error;
}

describe('the development enterprise verifier', () => {
  const verifier = new DevEnterpriseVerifier(false);

  it('matches any credit code with a valid check character, and finds nothing else', async () => {
    expect(verifier.kind).toBe('dev');
    expect(await verifier.verify(QUERY)).toBe('match');
    expect(await verifier.verify({ ...QUERY, creditCode: '91350100M000100Y44' })).toBe('not_found');
    expect(await verifier.verify({ ...QUERY, creditCode: '' })).toBe('not_found');
  });

  it('is refused in production, alone and through createOutsideServices', () => {
    expect(() => new DevEnterpriseVerifier(true)).toThrow(
      'ENTERPRISE_VERIFIER=dev: the development enterprise verifier is refused in production',
    );
    const http = {
      kind: 'http' as const,
      url: 'https://x.example/',
      appId: 'a',
      secret: SECRET,
      timeoutMs: 5_000,
    };
    const noDb = {} as Parameters<typeof createOutsideServices>[1];
    const settings = { production: true, sms: http, identityVerifier: http };
    expect(() => createOutsideServices({ ...settings, enterpriseVerifier: { kind: 'dev' } }, noDb)).toThrow(
      'ENTERPRISE_VERIFIER=dev',
    );
    expect(createOutsideServices({ ...settings, enterpriseVerifier: http }, noDb).enterprise.kind).toBe(
      'http',
    );
  });
});

describe('HttpEnterpriseVerifier against the fake registry over HTTP', () => {
  let fake: SignedJsonServer;
  const verifier = (overrides: { secret?: string; retries?: number; timeoutMs?: number } = {}) =>
    new HttpEnterpriseVerifier({
      url: fake.url,
      appId: 'unified-id',
      secret: SECRET,
      timeoutMs: 2_000,
      ...overrides,
    });

  beforeAll(async () => {
    fake = await startFakeEnterpriseVerifier(SECRET, [
      { creditCode: QUERY.creditCode, orgName: QUERY.orgName, representativeName: QUERY.representativeName },
    ]);
  });
  afterEach(() => {
    Object.assign(fake.faults, { down: false, hang: false, failNext: 0 });
  });
  afterAll(() => fake.close());

  it('answers match, mismatch and not_found, sending exactly the query, signed', async () => {
    expect(verifier().kind).toBe('http');
    expect(await verifier().verify(QUERY)).toBe('match');
    expect(fake.received.at(-1)).toEqual(QUERY);
    expect(await verifier().verify({ ...QUERY, orgName: '别的公司' })).toBe('mismatch');
    expect(await verifier().verify({ ...QUERY, representativeName: '张三' })).toBe('mismatch');
    expect(await verifier().verify({ ...QUERY, creditCode: '91350100MA00000000' })).toBe('not_found');
  });

  it('is unavailable under a wrong secret, when the registry is down, and when it hangs', async () => {
    expect(
      (await unavailable(verifier({ secret: 'another-secret-of-length' }).verify(QUERY))).message,
    ).toContain('answered HTTP 401');
    fake.faults.down = true;
    await unavailable(verifier({ retries: 0 }).verify(QUERY));
    fake.faults.down = false;
    fake.faults.hang = true;
    const started = Date.now();
    await unavailable(verifier({ timeoutMs: 300 }).verify(QUERY));
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('retries a 503 and answers when the registry recovers', async () => {
    fake.faults.failNext = 1;
    expect(await verifier({ retries: 2 }).verify(QUERY)).toBe('match');
  });
});

describe('HttpEnterpriseVerifier against a registry answering nonsense', () => {
  let answer = '';
  let server: CannedServer;

  beforeAll(async () => {
    server = await startCannedServer(() => ({ body: answer }));
  });
  afterAll(async () => {
    await server.close();
  });

  it.each([
    ['an unknown result', '{"result":"yes"}'],
    ['no result', '{}'],
    ['JSON null', 'null'],
    ['not JSON', '<html>维护中</html>'],
  ])('is unavailable on %s', async (_label, body) => {
    answer = body;
    const verifier = new HttpEnterpriseVerifier({
      url: server.url,
      appId: 'unified-id',
      secret: SECRET,
      timeoutMs: 2_000,
    });
    await unavailable(verifier.verify(QUERY));
  });
});
