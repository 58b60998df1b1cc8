import { describe, expect, it } from 'vitest';
import { idCheckCharacter } from '../../identifiers/id-number.js';
import { createOutsideServices } from '../factory.js';
import { DevIdentityVerifier } from './dev-verifier.js';
import { HttpIdentityVerifier } from './http-verifier.js';

const VALID = '11010519491231002X';
const first17 = '33010619850612351';
const ANOTHER_VALID = `${first17}${idCheckCharacter(first17)}`;
const WRONG_CHECK = `${first17}${idCheckCharacter(first17) === '0' ? '1' : '0'}`;

describe('the development identity verifier', () => {
  const verifier = new DevIdentityVerifier(false);

  it('matches any ID number with a valid check character, whatever the name', async () => {
    expect(verifier.kind).toBe('dev');
    expect(await verifier.verify({ name: '张三', idNumber: VALID })).toBe('match');
    expect(await verifier.verify({ name: '李四', idNumber: VALID.toLowerCase() })).toBe('match');
    expect(await verifier.verify({ name: '王五', idNumber: ANOTHER_VALID })).toBe('match');
  });

  it('finds nobody for an invalid ID number', async () => {
    expect(await verifier.verify({ name: '张三', idNumber: WRONG_CHECK })).toBe('not_found');
    expect(await verifier.verify({ name: '张三', idNumber: '110105194912310' })).toBe('not_found');
    expect(await verifier.verify({ name: '张三', idNumber: '' })).toBe('not_found');
  });

  it('is refused in production', () => {
    expect(() => new DevIdentityVerifier(true)).toThrow(
      'IDENTITY_VERIFIER=dev: the development identity verifier is refused in production',
    );
  });
});

describe('createOutsideServices: the identity verifier', () => {
  const http = {
    kind: 'http' as const,
    url: 'https://idv.example.gov.cn/verify',
    appId: 'unified-id',
    secret: 'a-shared-secret-of-some-length',
    timeoutMs: 5_000,
    retries: 2,
  };
  // The factory never touches the database for these; the dev SMS outbox only keeps the handle.
  const noDb = {} as Parameters<typeof createOutsideServices>[1];

  it('picks the dev or the HTTP verifier from the settings', () => {
    const dev = createOutsideServices(
      {
        production: false,
        sms: { kind: 'dev' },
        identityVerifier: { kind: 'dev' },
        enterpriseVerifier: { kind: 'dev' },
      },
      noDb,
    );
    expect(dev.identity).toBeInstanceOf(DevIdentityVerifier);
    const real = createOutsideServices(
      { production: true, sms: http, identityVerifier: http, enterpriseVerifier: http },
      noDb,
    );
    expect(real.identity).toBeInstanceOf(HttpIdentityVerifier);
  });

  it('refuses IDENTITY_VERIFIER=dev in production, naming the setting', () => {
    expect(() =>
      createOutsideServices(
        { production: true, sms: http, identityVerifier: { kind: 'dev' }, enterpriseVerifier: http },
        noDb,
      ),
    ).toThrow(/^IDENTITY_VERIFIER=dev .*refused in production/);
  });

  it('names both settings when both are dev in production', () => {
    expect(() =>
      createOutsideServices(
        {
          production: true,
          sms: { kind: 'dev' },
          identityVerifier: { kind: 'dev' },
          enterpriseVerifier: http,
        },
        noDb,
      ),
    ).toThrow(/SMS_GATEWAY=dev .* and IDENTITY_VERIFIER=dev .*refused in production/);
  });
});
