import { type Faults, type SignedJsonServer, startSignedJsonServer } from './signed-json-server.js';

export interface SmsGatewayFaults extends Faults {
  /** Answer 200 `{"code": "REJECTED"}`: the gateway refuses the message (blacklisted number, …). */
  reject: boolean;
}

export interface FakeSmsGateway extends SignedJsonServer {
  faults: SmsGatewayFaults;
  /** The `code` parameter of the newest message to this E.164 number: what the person would read. */
  codeFor(e164: string): string | undefined;
}

const E164 = /^\+[1-9]\d{6,14}$/;

/**
 * A fake SMS gateway over real HTTP: checks the signature (401 BAD_SIGNATURE), that the body
 * carries the signed timestamp and nonce and the app id, and records every accepted message so a
 * test can read the code.
 */
export async function startFakeSmsGateway(
  secret: string,
  options: { appId?: string; now?: () => number } = {},
): Promise<FakeSmsGateway> {
  const faults: SmsGatewayFaults = { down: false, hang: false, failNext: 0, reject: false };
  let sequence = 0;
  const server = await startSignedJsonServer(
    secret,
    (body, request) => {
      const params = body['params'];
      const wellFormed =
        typeof body['appId'] === 'string' &&
        body['appId'] === request.appId &&
        (options.appId === undefined || body['appId'] === options.appId) &&
        typeof body['phone'] === 'string' &&
        E164.test(body['phone']) &&
        typeof body['templateId'] === 'string' &&
        body['templateId'] !== '' &&
        typeof params === 'object' &&
        params !== null &&
        Object.values(params).every((v) => typeof v === 'string') &&
        typeof body['timestamp'] === 'number' &&
        typeof body['nonce'] === 'string';
      if (!wellFormed) return { status: 400, json: { code: 'BAD_REQUEST' } };
      if (faults.reject) return { json: { code: 'REJECTED', message: 'refused by the carrier' } };
      sequence++;
      return { json: { code: 'OK', messageId: `fake-${sequence}` } };
    },
    options.now ? { faults, now: options.now } : { faults },
  );
  return {
    url: server.url,
    faults,
    received: server.received,
    get requests() {
      return server.requests;
    },
    close: server.close,
    codeFor(e164: string): string | undefined {
      const last = server.received.filter((m) => m['phone'] === e164).at(-1);
      return (last?.['params'] as Record<string, string> | undefined)?.['code'];
    },
  };
}
