/**
 * PostgreSQL's unique_violation, on pg and PGlite alike: a unique index decided between two
 * writers, so the loser can say which value was taken instead of failing with a 500.
 */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}
