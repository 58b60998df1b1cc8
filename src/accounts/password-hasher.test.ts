import { describe, expect, it } from 'vitest';
import { PasswordHasher } from './password-hasher.js';

const PEPPER = Buffer.alloc(32, 7);
/** The `$argon2id$v=19$m=…,p=…,t=…$` head of a hash (PHC string format): its kind and what it cost. */
const head = (hash: string) =>
  /^(?:hmac-sm3\$)?\$(argon2id)\$v=19\$(m=\d+,p=\d+,t=\d+)\$/.exec(hash)?.slice(1);

describe('a deployment’s stored passwords', () => {
  it('are argon2id at OWASP’s minimum cost (19 MiB, two passes, one lane), under both profiles', async () => {
    for (const profile of ['standard', 'gm'] as const) {
      const hasher = new PasswordHasher(profile, PEPPER);
      const hash = await hasher.hash('Correct#Horse2024');
      expect(head(hash)).toEqual(['argon2id', 'm=19456,p=1,t=2']);
      expect(hash.startsWith('hmac-sm3$')).toBe(profile === 'gm');
      expect(await hasher.verify(hash, 'Correct#Horse2024')).toBe(true);
      expect(await hasher.verify(hash, 'correct#Horse2024')).toBe(false);
      expect(hasher.needsRehash(hash)).toBe(false);
    }
  });

  it('redo at login a hash made at a smaller cost, such as the tests’ servers use', async () => {
    const cheap = new PasswordHasher('standard', PEPPER, { memoryCost: 1024, timeCost: 1 });
    const hash = await cheap.hash('Correct#Horse2024');
    expect(head(hash)).toEqual(['argon2id', 'm=1024,p=1,t=1']);
    expect(cheap.needsRehash(hash)).toBe(false);
    const deployment = new PasswordHasher('standard', PEPPER);
    expect(await deployment.verify(hash, 'Correct#Horse2024')).toBe(true);
    expect(deployment.needsRehash(hash)).toBe(true);
  });

  it('refuses every password for an account without one, after the same work', async () => {
    const hasher = new PasswordHasher('standard', PEPPER);
    expect(await hasher.verify(null, '')).toBe(false);
    expect(await hasher.verify(undefined, 'unified-id-dummy-password')).toBe(false);
  });
});
