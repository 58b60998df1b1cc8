import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { AlipaySdk } from 'alipay-sdk';
import { describe, expect, it } from 'vitest';
import { verifyAnswer } from './answer.js';
import { formatBeijingTimestamp } from './beijing-time.js';
import { parseAlipayPrivateKey, publicKeyBase64 } from './keys.js';
import { requestSigningContent, signRequest, signText, verifyText } from './signing.js';
import {
  RAW_VALUES_VECTOR,
  RESPONSE_NODE_VECTOR,
  TEST_APP_PRIVATE_KEY_PEM,
  TOKEN_REQUEST_VECTOR,
} from './test-vectors.js';

const privateKey = parseAlipayPrivateKey(TEST_APP_PRIVATE_KEY_PEM);
const publicKey = createPublicKey(privateKey);
const USER_INFO = 'alipay.user.info.share';

// The test key stands in for Alipay's key on the answers: the SDK verifies with it.
function sdkTrusting(alipayPublicKey: KeyObject): AlipaySdk {
  return new AlipaySdk({
    appId: TOKEN_REQUEST_VECTOR.params.app_id,
    privateKey: TEST_APP_PRIVATE_KEY_PEM,
    keyType: 'PKCS8',
    alipayPublicKey: publicKeyBase64(alipayPublicKey),
  });
}
const sdk = sdkTrusting(publicKey);

/** A body the way Alipay lays it out: the response node first, then `sign`. */
function body(nodeName: string, nodeText: string, sign: string): string {
  return `{"${nodeName}":${nodeText},"sign":"${sign}"}`;
}

describe('signing a gateway request', () => {
  it('Alipay’s SDK, as Unified ID signs with it, gives the known token request’s exact sign', () => {
    const { params } = TOKEN_REQUEST_VECTOR;
    const form = new URLSearchParams(
      sdk.sdkExecute(params.method, {
        grant_type: params.grant_type,
        code: params.code,
        format: params.format,
        timestamp: params.timestamp,
      }),
    );
    expect(Object.fromEntries(form)).toEqual({
      ...Object.fromEntries(Object.entries(params).filter(([, value]) => value !== '')),
      sign: TOKEN_REQUEST_VECTOR.sign,
    });
  });

  it('signs a known token request to the exact expected sign (the development Alipay’s side)', () => {
    expect(requestSigningContent(TOKEN_REQUEST_VECTOR.params)).toBe(TOKEN_REQUEST_VECTOR.content);
    expect(signRequest(TOKEN_REQUEST_VECTOR.params, privateKey)).toBe(TOKEN_REQUEST_VECTOR.sign);
  });

  it('sorts by ASCII, keeps values raw, and leaves out sign and empty values', () => {
    expect(requestSigningContent(RAW_VALUES_VECTOR.params)).toBe(RAW_VALUES_VECTOR.content);
    expect(signRequest(RAW_VALUES_VECTOR.params, privateKey)).toBe(RAW_VALUES_VECTOR.sign);
  });

  it('gives the same sign whatever order the parameters come in', () => {
    const reversed = Object.fromEntries(Object.entries(TOKEN_REQUEST_VECTOR.params).reverse());
    expect(signRequest(reversed, privateKey)).toBe(TOKEN_REQUEST_VECTOR.sign);
  });

  it('a sign verifies against its signing string with the public key, and only that string', () => {
    expect(verifyText(TOKEN_REQUEST_VECTOR.content, TOKEN_REQUEST_VECTOR.sign, publicKey)).toBe(true);
    expect(verifyText(`${TOKEN_REQUEST_VECTOR.content}x`, TOKEN_REQUEST_VECTOR.sign, publicKey)).toBe(false);
    expect(verifyText(TOKEN_REQUEST_VECTOR.content, 'not base64 !!', publicKey)).toBe(false);
    expect(verifyText(TOKEN_REQUEST_VECTOR.content, '', publicKey)).toBe(false);
  });
});

describe('verifying a gateway response', () => {
  const nodeName = 'alipay_user_info_share_response';

  it('accepts a correctly signed node and parses it from the signed text', () => {
    const result = verifyAnswer(
      sdk,
      body(nodeName, RESPONSE_NODE_VECTOR.nodeText, RESPONSE_NODE_VECTOR.sign),
      USER_INFO,
    );
    expect(result).toEqual({
      ok: true,
      nodeName,
      node: {
        code: '10000',
        msg: 'Success',
        user_id: '2088000000000001',
        avatar: 'https://tfs.alipayobjects.com/images/partner/x',
        nick_name: '三哥',
      },
    });
  });

  it('needs the exact text: the same node serialised again does not verify', () => {
    const reserialised = JSON.stringify(JSON.parse(RESPONSE_NODE_VECTOR.nodeText));
    expect(reserialised).not.toBe(RESPONSE_NODE_VECTOR.nodeText);
    expect(verifyText(reserialised, RESPONSE_NODE_VECTOR.sign, publicKey)).toBe(false);
    const again = body('alipay_user_info_share_response', reserialised, RESPONSE_NODE_VECTOR.sign);
    expect(verifyAnswer(sdk, again, USER_INFO)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a tampered node', () => {
    const tampered = RESPONSE_NODE_VECTOR.nodeText.replace('2088000000000001', '2088000000000002');
    expect(verifyAnswer(sdk, body(nodeName, tampered, RESPONSE_NODE_VECTOR.sign), USER_INFO)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('refuses a tampered signature', () => {
    const sign = Buffer.from(RESPONSE_NODE_VECTOR.sign, 'base64');
    sign[10] = (sign[10] ?? 0) ^ 0x80;
    const result = verifyAnswer(
      sdk,
      body(nodeName, RESPONSE_NODE_VECTOR.nodeText, sign.toString('base64')),
      USER_INFO,
    );
    expect(result).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a signature from another key', () => {
    const foreign = sdkTrusting(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
    const result = verifyAnswer(
      foreign,
      body(nodeName, RESPONSE_NODE_VECTOR.nodeText, RESPONSE_NODE_VECTOR.sign),
      USER_INFO,
    );
    expect(result).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses an unsigned answer, or one whose sign is not a string', () => {
    expect(verifyAnswer(sdk, `{"${nodeName}":${RESPONSE_NODE_VECTOR.nodeText}}`, USER_INFO)).toEqual({
      ok: false,
      reason: 'missing_sign',
    });
    expect(
      verifyAnswer(sdk, `{"${nodeName}":${RESPONSE_NODE_VECTOR.nodeText},"sign":null}`, USER_INFO),
    ).toEqual({ ok: false, reason: 'missing_sign' });
  });

  it('refuses a node signed for another method', () => {
    const result = verifyAnswer(
      sdk,
      body(nodeName, RESPONSE_NODE_VECTOR.nodeText, RESPONSE_NODE_VECTOR.sign),
      'alipay.system.oauth.token',
    );
    expect(result).toEqual({ ok: false, reason: 'missing_node' });
  });

  it('verifies an error_response when the method node is absent', () => {
    const nodeText =
      '{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.code-invalid","sub_msg":"授权码code无效"}';
    const result = verifyAnswer(
      sdk,
      body('error_response', nodeText, signText(nodeText, privateKey)),
      'alipay.system.oauth.token',
    );
    expect(result).toMatchObject({
      ok: true,
      nodeName: 'error_response',
      node: { sub_code: 'isv.code-invalid', sub_msg: '授权码code无效' },
    });
  });

  it('never reads a second node of the same name, which JSON.parse would keep', () => {
    const evil = '{"code":"10000","user_id":"2088999999999999"}';
    const sign = RESPONSE_NODE_VECTOR.sign;
    const node = RESPONSE_NODE_VECTOR.nodeText;
    const evilFirst = `{"${nodeName}":${evil},"${nodeName}":${node},"sign":"${sign}"}`;
    expect(verifyAnswer(sdk, evilFirst, USER_INFO)).toEqual({ ok: false, reason: 'bad_signature' });
    const evilSecond = `{"${nodeName}":${node},"${nodeName}":${evil},"sign":"${sign}"}`;
    expect(verifyAnswer(sdk, evilSecond, USER_INFO)).toEqual({ ok: false, reason: 'bad_signature' });
    // After the sign, the SDK's cut covers the signed node only; that node is what is read.
    const evilAfterSign = `{"${nodeName}":${node},"sign":"${sign}","${nodeName}":${evil}}`;
    expect(JSON.parse(evilAfterSign)[nodeName]).toEqual(JSON.parse(evil));
    expect(verifyAnswer(sdk, evilAfterSign, USER_INFO)).toMatchObject({
      ok: true,
      node: { user_id: '2088000000000001' },
    });
  });

  it('refuses a decoy node nested before the real one rather than read it', () => {
    const decoy = `{"extra":{"${nodeName}":{"user_id":"2088999999999999"}},"${nodeName}":${RESPONSE_NODE_VECTOR.nodeText},"sign":"${RESPONSE_NODE_VECTOR.sign}"}`;
    expect(verifyAnswer(sdk, decoy, USER_INFO)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses what is not a JSON object', () => {
    for (const text of [
      '',
      'not json',
      '[1,2]',
      '"text"',
      '<html>502 Bad Gateway</html>',
      '{"a":1} trailing',
    ]) {
      expect(verifyAnswer(sdk, text, USER_INFO)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('refuses a node that is not an object even when signed', () => {
    const nodeText = '"just a string"';
    expect(
      verifyAnswer(sdk, body(nodeName, nodeText, signText(nodeText, privateKey)), USER_INFO),
    ).toMatchObject({ ok: false });
  });
});

describe('a signed node full of structural characters', () => {
  // Strings full of structural characters, escaped quotes and backslashes, raw
  // Chinese, \u escapes, an emoji (a surrogate pair) and escaped slashes.
  const trickyNode = String.raw`{"code":"10000","msg":"he said \"}{\" and left","nick_name":"张三\u4e09 🐉","path":"C:\\dir\\","brackets":"]]}}[[{{","nested":{"list":[1,{"x":"}"},[],{}],"empty":{}},"avatar":"https:\/\/a.example\/b","n":-1.5e3,"t":true,"f":false,"z":null}`;

  it('verifies over the exact text and parses it faithfully', () => {
    const signed = `{"alipay_user_info_share_response":${trickyNode},"alipay_cert_sn":"0f1e","sign":"${signText(trickyNode, privateKey)}"}`;
    const result = verifyAnswer(sdk, signed, USER_INFO);
    expect(result).toEqual({
      ok: true,
      nodeName: 'alipay_user_info_share_response',
      node: JSON.parse(trickyNode),
    });
    if (result.ok) {
      expect(result.node['msg']).toBe('he said "}{" and left');
      expect(result.node['nick_name']).toBe('张三三 🐉');
      expect(result.node['path']).toBe('C:\\dir\\');
    }
  });
});

describe('the gateway timestamp', () => {
  it('is Beijing wall-clock time, yyyy-MM-dd HH:mm:ss', () => {
    expect(formatBeijingTimestamp(new Date('2024-06-01T04:00:00Z'))).toBe('2024-06-01 12:00:00');
    expect(formatBeijingTimestamp(new Date('2023-12-31T16:30:05.999Z'))).toBe('2024-01-01 00:30:05');
    expect(formatBeijingTimestamp(new Date('2024-02-28T20:07:09+02:00'))).toBe('2024-02-29 02:07:09');
  });

  it('refuses an invalid date', () => {
    expect(() => formatBeijingTimestamp(new Date(Number.NaN))).toThrow(RangeError);
  });
});
