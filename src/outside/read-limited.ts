/** A response body went past the limit its reader set; the rest of it was not read. */
export class ResponseTooLarge extends Error {
  override name = 'ResponseTooLarge';
  constructor(readonly limit: number) {
    super(`answer larger than ${limit} bytes`);
  }
}

/**
 * Reads a response body as UTF-8 text, at most `limit` bytes of it: past that the stream is
 * cancelled and ResponseTooLarge thrown, so a misbehaving peer cannot fill our memory. A
 * response without a body reads as ''. Connection errors and aborts pass through unchanged.
 */
export async function readLimited(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new ResponseTooLarge(limit);
    }
    chunks.push(value);
  }
  return new TextDecoder('utf-8').decode(Buffer.concat(chunks));
}
