import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseAlipayPrivateKey } from './keys.js';
import {
  formatBeijingTimestamp,
  requestSigningContent,
  signRequest,
  signText,
  topLevelMembers,
  verifyResponse,
  verifyText,
} from './signing.js';
import {
  RAW_VALUES_VECTOR,
  RESPONSE_NODE_VECTOR,
  TEST_APP_PRIVATE_KEY_PEM,
  TOKEN_REQUEST_VECTOR,
} from './test-vectors.js';

const privateKey = parseAlipayPrivateKey(TEST_APP_PRIVATE_KEY_PEM);
const publicKey = createPublicKey(privateKey);
const USER_INFO = 'alipay.user.info.share';

/** A body the way Alipay lays it out: the response node first, then `sign`. */
function body(nodeName: string, nodeText: string, sign: string): string {
  return `{"${nodeName}":${nodeText},"sign":"${sign}"}`;
}

describe('signing a gateway request', () => {
  it('signs a known token request to the exact expected sign', () => {
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
    const result = verifyResponse(
      body(nodeName, RESPONSE_NODE_VECTOR.nodeText, RESPONSE_NODE_VECTOR.sign),
      USER_INFO,
      publicKey,
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
  });

  it('accepts whitespace around the node and sign before the node', () => {
    const spaced = `{\n  "sign" : "${RESPONSE_NODE_VECTOR.sign}" ,\n  "${nodeName}" :\t${RESPONSE_NODE_VECTOR.nodeText}\n}\n`;
    expect(verifyResponse(spaced, USER_INFO, publicKey)).toMatchObject({ ok: true, nodeName });
  });

  it('refuses a tampered node', () => {
    const tampered = RESPONSE_NODE_VECTOR.nodeText.replace('2088000000000001', '2088000000000002');
    expect(verifyResponse(body(nodeName, tampered, RESPONSE_NODE_VECTOR.sign), USER_INFO, publicKey)).toEqual(
      {
        ok: false,
        reason: 'bad_signature',
      },
    );
  });

  it('refuses a tampered signature', () => {
    const sign = Buffer.from(RESPONSE_NODE_VECTOR.sign, 'base64');
    sign[10] = (sign[10] ?? 0) ^ 0x80;
    const result = verifyResponse(
      body(nodeName, RESPONSE_NODE_VECTOR.nodeText, sign.toString('base64')),
      USER_INFO,
      publicKey,
    );
    expect(result).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a signature from another key', () => {
    const foreign = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const result = verifyResponse(
      body(nodeName, RESPONSE_NODE_VECTOR.nodeText, RESPONSE_NODE_VECTOR.sign),
      USER_INFO,
      foreign,
    );
    expect(result).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses an unsigned answer, or one whose sign is not a string', () => {
    expect(verifyResponse(`{"${nodeName}":${RESPONSE_NODE_VECTOR.nodeText}}`, USER_INFO, publicKey)).toEqual({
      ok: false,
      reason: 'missing_sign',
    });
    expect(
      verifyResponse(`{"${nodeName}":${RESPONSE_NODE_VECTOR.nodeText},"sign":null}`, USER_INFO, publicKey),
    ).toEqual({ ok: false, reason: 'missing_sign' });
  });

  it('refuses a node signed for another method', () => {
    const result = verifyResponse(
      body(nodeName, RESPONSE_NODE_VECTOR.nodeText, RESPONSE_NODE_VECTOR.sign),
      'alipay.system.oauth.token',
      publicKey,
    );
    expect(result).toEqual({ ok: false, reason: 'missing_node' });
  });

  it('verifies an error_response when the method node is absent', () => {
    const nodeText =
      '{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.code-invalid","sub_msg":"授权码code无效"}';
    const result = verifyResponse(
      body('error_response', nodeText, signText(nodeText, privateKey)),
      'alipay.system.oauth.token',
      publicKey,
    );
    expect(result).toMatchObject({
      ok: true,
      nodeName: 'error_response',
      node: { sub_code: 'isv.code-invalid', sub_msg: '授权码code无效' },
    });
  });

  it('refuses a body with the response node twice, since parsers disagree on which one wins', () => {
    const evil = '{"code":"10000","user_id":"2088999999999999"}';
    const twice = `{"${nodeName}":${RESPONSE_NODE_VECTOR.nodeText},"${nodeName}":${evil},"sign":"${RESPONSE_NODE_VECTOR.sign}"}`;
    expect(verifyResponse(twice, USER_INFO, publicKey)).toEqual({ ok: false, reason: 'duplicate_node' });
  });

  it('ignores a decoy node nested inside another member', () => {
    const decoy = `{"extra":{"${nodeName}":{"user_id":"2088999999999999"}},"${nodeName}":${RESPONSE_NODE_VECTOR.nodeText},"sign":"${RESPONSE_NODE_VECTOR.sign}"}`;
    expect(verifyResponse(decoy, USER_INFO, publicKey)).toMatchObject({
      ok: true,
      node: { user_id: '2088000000000001' },
    });
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
      expect(verifyResponse(text, USER_INFO, publicKey)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('refuses a node that is not an object even when signed', () => {
    const nodeText = '"just a string"';
    expect(
      verifyResponse(body(nodeName, nodeText, signText(nodeText, privateKey)), USER_INFO, publicKey),
    ).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });
});

describe('cutting the response node out of the raw JSON text', () => {
  // Strings full of structural characters, escaped quotes and backslashes, raw
  // Chinese, \u escapes, an emoji (a surrogate pair) and escaped slashes.
  const trickyNode = String.raw`{"code":"10000","msg":"he said \"}{\" and left","nick_name":"张三\u4e09 🐉","path":"C:\\dir\\","brackets":"]]}}[[{{","nested":{"list":[1,{"x":"}"},[],{}],"empty":{}},"avatar":"https:\/\/a.example\/b","n":-1.5e3,"t":true,"f":false,"z":null}`;
  const tricky = `{ "sign":"x}{\\"",\n"alipay_user_info_share_response" : ${trickyNode} , "after":"\\\\"}`;

  it('finds each top-level member and the exact text of its value', () => {
    const members = topLevelMembers(tricky);
    expect(members?.map((m) => m.name)).toEqual(['sign', 'alipay_user_info_share_response', 'after']);
    const node = members?.[1];
    expect(node && tricky.slice(node.start, node.end)).toBe(trickyNode);
    const sign = members?.[0];
    expect(sign && tricky.slice(sign.start, sign.end)).toBe('"x}{\\""');
  });

  it('verifies a signature over that exact text and parses it faithfully', () => {
    const signed = `{"alipay_user_info_share_response":${trickyNode},"sign":"${signText(trickyNode, privateKey)}"}`;
    const result = verifyResponse(signed, USER_INFO, publicKey);
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

  it('unescapes member names', () => {
    const text = String.raw`{"alipay_user_info_share\u005fresponse":{"a":1},"b":2}`;
    expect(topLevelMembers(text)?.map((m) => m.name)).toEqual(['alipay_user_info_share_response', 'b']);
  });

  it('handles scalar values at the top level and an empty object', () => {
    const text = '{"a":1,"b":-2.5e-3,"c":true,"d":null,"e":"s","f":[]}';
    const members = topLevelMembers(text) ?? [];
    expect(members.map((m) => text.slice(m.start, m.end))).toEqual([
      '1',
      '-2.5e-3',
      'true',
      'null',
      '"s"',
      '[]',
    ]);
    expect(topLevelMembers(' {} ')).toEqual([]);
  });

  it('gives up on text that is not one object', () => {
    for (const text of ['[]', '{"a":1', '{"a" 1}', '{"a":"open}', '{"a":1}{"b":2}', '{a:1}']) {
      expect(topLevelMembers(text)).toBeUndefined();
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
