import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEnterprise } from '../../../../test/support/enterprise.js';
import { type MethodBench, openMethodBench } from '../../../../test/support/method-bench.js';
import {
  createCrl,
  createDevCa,
  DEV_HARDWARE_POLICY_OID,
  type DevCa,
  type IssuedCertificate,
  issueEnterpriseCertificate,
  signAsHolder,
} from '../../../pki/dev-ca.js';
import { randomCreditCode } from '../../../pki/test-support.js';
import { createTrustStore } from '../../../pki/trust-store.js';
import { ANSWERED } from '../login-method.js';
import { certificateMethod } from './index.js';

const ALGORITHM = 'ECDSA-P256-SHA256';
const CREDIT_CODE = randomCreditCode();

let bench: MethodBench;
let deps: ReturnType<typeof certificateMethod.deps>;
const form = certificateMethod.form!;
let ca: DevCa;
let enterpriseId: string;
/** On a USB key: its CA marks it so (the development hardware policy). */
let usbKey: IssuedCertificate;
/** A PKCS#12 file's: no hardware policy. */
let fileKey: IssuedCertificate;

const issue = (issuer: DevCa, extra: Partial<Parameters<typeof issueEnterpriseCertificate>[1]> = {}) =>
  issueEnterpriseCertificate(issuer, {
    creditCode: CREDIT_CODE,
    orgName: '福州某某有限公司',
    algorithm: 'ECDSA-P256',
    policies: [DEV_HARDWARE_POLICY_OID],
    ...extra,
  });

/** What the certificate page's script posts: the challenge asked for `uid`, signed with the certificate's key. */
async function signedChallenge(
  holder: IssuedCertificate,
  uid: string,
  purpose: 'login' | 'bind' = 'login',
  signed = (text: string) => text,
) {
  const { nonce, challenge } = await bench.services.certificates.challenge(purpose, uid);
  const signature = signAsHolder(holder.privateKey, ALGORITHM, new TextEncoder().encode(signed(challenge)));
  return {
    nonce,
    chain: [Buffer.from(holder.certificateDer).toString('base64')],
    signature: Buffer.from(signature).toString('base64'),
    algorithm: ALGORITHM,
  };
}

/** The post to /interaction/:uid/cert/login, as the common handler opens it. */
function logIn(body: Awaited<ReturnType<typeof signedChallenge>>, uid: string) {
  return form.prove(bench.browser().submission(body, uid).submission, deps);
}

async function bind(accountId: string, holder: IssuedCertificate) {
  const session = randomUUID();
  await bench.services.certificates.bind(accountId, await signedChallenge(holder, session, 'bind'), session);
}

let revoked: IssuedCertificate;

beforeAll(async () => {
  bench = await openMethodBench();
  deps = bench.depsOf(certificateMethod);
  ca = await createDevCa({ algorithm: 'ECDSA-P256' });
  usbKey = await issue(ca);
  fileKey = await issue(ca, { policies: [] });
  revoked = await issue(ca);
  ({ accountId: enterpriseId } = await addEnterprise(bench, {
    orgName: '福州某某有限公司',
    creditCode: CREDIT_CODE,
    password: 'Fz-enterprise#2026',
  }));
  // certs/ as the server loads it at start-up: the anchor, and later its CRL.
  bench.services.trust.store = createTrustStore({ anchors: [ca.certificateDer] });
  for (const holder of [usbKey, fileKey, revoked]) await bind(enterpriseId, holder);
  // Revoked after it was bound: the binding does not outlive the CA's word.
  const now = Date.now();
  bench.services.trust.store = createTrustStore({
    anchors: [ca.certificateDer],
    crls: [
      createCrl(ca, [revoked.serialNumberHex], {
        thisUpdate: new Date(now - 60_000),
        nextUpdate: new Date(now + 86_400_000),
      }).der,
    ],
  });
});
afterAll(() => bench?.close());

describe('证书登录 proves a bound certificate’s key', () => {
  it('signs the enterprise in with hwk for a USB key, at acr cert', async () => {
    const uid = randomUUID();
    const proven = await logIn(await signedChallenge(usbKey, uid), uid);
    expect(proven).toMatchObject({ accountId: enterpriseId, verified: ['hwk'], method: 'certificate' });
    if (proven === ANSWERED) throw new Error('not a sign-in');
    const { result } = await bench.signIn(proven, uid);
    expect(result?.login).toMatchObject({
      accountId: enterpriseId,
      acr: 'urn:unified-id:acr:cert',
      amr: ['hwk'],
    });
  });

  it('gives swk, not hwk, to a certificate its CA does not mark as a hardware key', async () => {
    const uid = randomUUID();
    await expect(logIn(await signedChallenge(fileKey, uid), uid)).resolves.toMatchObject({
      verified: ['swk'],
    });
  });

  it('takes a challenge once, for its own interaction and purpose only, signed as it was given', async () => {
    const uid = randomUUID();
    const refused = { name: 'CertificateRefused', status: 400, code: 'challenge_invalid' };
    const once = await signedChallenge(usbKey, uid);
    await logIn(once, uid);
    await expect(logIn(once, uid)).rejects.toMatchObject(refused);
    // A challenge asked for another sign-in (another browser's, say) is no good in this one.
    await expect(logIn(await signedChallenge(usbKey, randomUUID()), uid)).rejects.toMatchObject(refused);
    await expect(logIn(await signedChallenge(usbKey, uid, 'bind'), uid)).rejects.toMatchObject(refused);
    await expect(
      logIn({ ...(await signedChallenge(usbKey, uid)), nonce: randomUUID() }, uid),
    ).rejects.toMatchObject(refused);
    // Signed, but another text than the one the server gave.
    const forged = await signedChallenge(usbKey, uid, 'login', (text) => text.replace(uid, randomUUID()));
    await expect(logIn(forged, uid)).rejects.toMatchObject({
      name: 'CertificateRefused',
      code: expect.stringMatching(/^signature_/),
      userMessage: '签名验证失败',
    });
  });

  it('refuses an unbound, a revoked, an expired and an untrusted certificate, each saying why', async () => {
    const stranger = await createDevCa({ algorithm: 'ECDSA-P256' });
    const cases: [IssuedCertificate, string][] = [
      [await issue(ca, { creditCode: randomCreditCode() }), 'certificate_unbound'],
      // Same enterprise, never bound: a certificate is bound one by one, not by its credit code.
      [await issue(ca), 'certificate_unbound'],
      [revoked, 'certificate_revoked'],
      [
        await issue(ca, { notBefore: new Date(Date.now() - 3e10), notAfter: new Date(Date.now() - 1e9) }),
        'certificate_expired',
      ],
      [await issue(stranger), 'certificate_untrusted'],
    ];
    for (const [holder, code] of cases) {
      const uid = randomUUID();
      await expect(logIn(await signedChallenge(holder, uid), uid), code).rejects.toMatchObject({
        name: 'CertificateRefused',
        status: 400,
        code,
      });
    }
    const failures = await bench.database
      .db('audit_events')
      .where({ type: 'login', method: 'certificate', outcome: 'failure' });
    expect(failures.length).toBeGreaterThanOrEqual(cases.length);
  });

  it('refuses a post without the signed challenge’s parts', async () => {
    const uid = randomUUID();
    const { chain: _left, ...withoutChain } = await signedChallenge(usbKey, uid);
    await expect(
      form.prove(bench.browser().submission(withoutChain, uid).submission, deps),
    ).rejects.toMatchObject({ name: 'BadInput', userMessage: '证书签名数据不完整' });
  });

  it('proves a disabled enterprise’s certificate, but the sign-in stops at the common door', async () => {
    const code = randomCreditCode();
    const { accountId } = await addEnterprise(bench, {
      orgName: '福州另一家有限公司',
      creditCode: code,
      password: 'Fz-enterprise#2026',
    });
    const holder = await issue(ca, { creditCode: code });
    await bind(accountId, holder);
    await bench.services.accounts.setStatus(accountId, 'locked');
    const uid = randomUUID();
    const proven = await logIn(await signedChallenge(holder, uid), uid);
    if (proven === ANSWERED) throw new Error('not a sign-in');
    await expect(bench.signIn(proven, uid)).rejects.toMatchObject({
      name: 'AccountUnavailable',
      status: 403,
    });
  });
});
