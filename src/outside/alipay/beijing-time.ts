const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

/** `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8, no daylight saving), the gateway's `timestamp`. */
export function formatBeijingTimestamp(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('formatBeijingTimestamp: invalid date');
  // Shifting the instant by eight hours and reading it as UTC gives Beijing's wall clock.
  const iso = new Date(date.getTime() + BEIJING_OFFSET_MS).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}
