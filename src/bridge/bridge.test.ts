import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildChallenge, challengeExpiry, newNonce } from '../pki/challenge.js';
import { createDevCa, issueEnterpriseCertificate } from '../pki/dev-ca.js';
import { verifySignature } from '../pki/signature.js';
import { startBridge } from './bridge-server.js';
import { importIntoSoftHsm, prepareSoftHsm, SOFTHSM_MODULE, softHsmAvailable } from './softhsm.js';
import { Pkcs11Token } from './token.js';

const ORIGIN = 'http://localhost:3000';
const TOKEN = { label: 'uid-bridge-test', pin: '123456', soPin: '12345678' };

/** A challenge of the provider at ORIGIN, base64: the only bytes the helper signs for its page. */
const loginChallenge = () =>
  Buffer.from(
    buildChallenge({
      issuer: ORIGIN,
      interactionId: 'abc',
      nonce: newNonce(),
      expiresAt: challengeExpiry(new Date()),
    }).text,
  ).toString('base64');

describe.skipIf(!softHsmAvailable())('证书助手 (the PKCS#11 bridge) over a real SoftHSM2 token', () => {
  let bridge: Awaited<ReturnType<typeof startBridge>>;
  let token: Pkcs11Token;
  const certificates: Record<string, Uint8Array> = {};

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'uid-softhsm-'));
    prepareSoftHsm(dir, TOKEN);
    const ca = await createDevCa({ algorithm: 'RSA' });
    for (const [id, algorithm] of [
      ['01', 'RSA'],
      ['02', 'ECDSA-P256'],
      ['03', 'ECDSA-P384'],
    ] as const) {
      const issued = await issueEnterpriseCertificate(ca, {
        creditCode: '91350100M000100Y43',
        orgName: '测试公司',
        algorithm,
      });
      importIntoSoftHsm(TOKEN, {
        id,
        label: `cert-${id}`,
        privateKey: issued.privateKey,
        certificateDer: issued.certificateDer,
      });
      certificates[id] = issued.certificateDer;
    }
    token = new Pkcs11Token(SOFTHSM_MODULE);
    bridge = await startBridge({ token, origins: [ORIGIN], port: 0 });
  });
  afterAll(async () => {
    await bridge?.close();
    token?.close();
  });

  const call = (pathPart: string, init: RequestInit = {}, origin = ORIGIN) =>
    fetch(`${bridge.url}${pathPart}`, {
      ...init,
      headers: { origin, 'content-type': 'application/json', ...init.headers },
    });

  it('lists the certificates on the token', async () => {
    const list = (await (await call('/v1/certificates')).json()) as {
      id: string;
      label: string;
      keyAlgorithm: string;
      certificate: string;
      holderName: string;
      issuerName: string;
      notAfter: string;
    }[];
    // What 选择证书 shows a person: the enterprise and the CA by name, and the expiry; not the token label.
    expect(list.find((c) => c.id === '01')).toMatchObject({
      label: 'cert-01',
      holderName: '测试公司',
      issuerName: expect.stringMatching(/^Unified ID Dev CA/),
      notAfter: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(list.map((c) => c.id).sort()).toEqual(['01', '02', '03']);
    expect(list.find((c) => c.id === '01')?.keyAlgorithm).toBe('RSA');
    expect(list.find((c) => c.id === '02')?.keyAlgorithm).toBe('EC-P256');
    expect(list.find((c) => c.id === '03')?.keyAlgorithm).toBe('EC-P384');
    expect(
      Buffer.from(list.find((c) => c.id === '01')!.certificate, 'base64').equals(
        Buffer.from(certificates['01']!),
      ),
    ).toBe(true);
  });

  it('reports the module and the slot holding the token', async () => {
    const status = (await (await call('/v1/status')).json()) as {
      ok: boolean;
      module: string;
      slots: { label: string; selected: boolean }[];
    };
    expect(status.ok).toBe(true);
    expect(status.module).toBe(SOFTHSM_MODULE);
    expect(status.slots.find((s) => s.selected)?.label).toBe(TOKEN.label);
  });

  it('signs a login challenge that the server verifies, for RSA, RSA-PSS and ECDSA', async () => {
    const { text, bytes } = buildChallenge({
      issuer: ORIGIN,
      interactionId: 'abc',
      nonce: newNonce(),
      expiresAt: challengeExpiry(new Date()),
    });
    for (const [id, algorithm] of [
      ['01', 'RSASSA-PKCS1-v1_5-SHA256'],
      ['01', 'RSA-PSS-SHA256'],
      ['02', 'ECDSA-P256-SHA256'],
      ['03', 'ECDSA-P384-SHA384'],
    ] as const) {
      const res = await call('/v1/sign', {
        method: 'POST',
        body: JSON.stringify({ id, pin: TOKEN.pin, data: Buffer.from(text).toString('base64'), algorithm }),
      });
      expect(res.status).toBe(200);
      const { signature } = (await res.json()) as { signature: string };
      const check = verifySignature({
        certificateDer: certificates[id]!,
        data: bytes,
        signature: Buffer.from(signature, 'base64'),
        algorithm,
      });
      expect(check.ok, `${algorithm}`).toBe(true);
    }
  });

  it('refuses a wrong PIN, another origin, and SM2 it can not do; answers the allowed preflight', async () => {
    const wrongPin = await call('/v1/sign', {
      method: 'POST',
      body: JSON.stringify({
        id: '01',
        pin: '000000',
        data: loginChallenge(),
        algorithm: 'RSASSA-PKCS1-v1_5-SHA256',
      }),
    });
    expect(wrongPin.status).toBe(401);
    expect(await wrongPin.json()).toEqual({ error: 'pin_incorrect' });

    // The right PIN from another page: refused before the token is asked, so no signature.
    const evilSign = await call(
      '/v1/sign',
      {
        method: 'POST',
        body: JSON.stringify({
          id: '01',
          pin: TOKEN.pin,
          data: loginChallenge(),
          algorithm: 'RSASSA-PKCS1-v1_5-SHA256',
        }),
      },
      'https://evil.example.com',
    );
    expect(evilSign.status).toBe(403);
    expect(await evilSign.json()).toEqual({ error: 'origin_not_allowed' });
    expect(evilSign.headers.get('access-control-allow-origin')).toBeNull();

    // ECDSA asked of the RSA key: the token refuses the mechanism, the bridge says why.
    const mismatch = await call('/v1/sign', {
      method: 'POST',
      body: JSON.stringify({
        id: '01',
        pin: TOKEN.pin,
        data: loginChallenge(),
        algorithm: 'ECDSA-P256-SHA256',
      }),
    });
    expect(mismatch.status).toBe(400);
    expect(await mismatch.json()).toEqual({ error: 'algorithm_key_mismatch' });

    // The session was logged out after the refusals: a good PIN still works.
    const after = await call('/v1/sign', {
      method: 'POST',
      body: JSON.stringify({
        id: '02',
        pin: TOKEN.pin,
        data: loginChallenge(),
        algorithm: 'ECDSA-P256-SHA256',
      }),
    });
    expect(after.status).toBe(200);

    const evil = await call('/v1/certificates', {}, 'https://evil.example.com');
    expect(evil.status).toBe(403);
    const noOrigin = await fetch(`${bridge.url}/v1/sign`, { method: 'POST', body: '{}' });
    expect(noOrigin.status).toBe(403);

    const sm2 = await call('/v1/sign', {
      method: 'POST',
      body: JSON.stringify({ id: '01', pin: TOKEN.pin, data: loginChallenge(), algorithm: 'SM2-SM3' }),
    });
    expect(sm2.status).toBe(400);
    expect(await sm2.json()).toEqual({ error: 'algorithm_unsupported' });

    const preflight = await call('/v1/sign', {
      method: 'OPTIONS',
      headers: { 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('content-type');
  });
});
