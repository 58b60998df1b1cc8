import { startSignedJsonServer } from './signed-json-server.js';

/** A fake SMS gateway: records every message so a test can read the code a person would receive. */
export async function startFakeSmsGateway(secret: string) {
  const server = await startSignedJsonServer(secret, () => ({
    json: { code: 'OK', messageId: `m${Date.now()}` },
  }));
  return {
    ...server,
    codeFor(e164: string): string | undefined {
      const last = server.received.filter((m) => m['phone'] === e164).at(-1);
      return (last?.['params'] as Record<string, string> | undefined)?.['code'];
    },
  };
}
