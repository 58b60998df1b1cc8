import { expect } from 'vitest';

/**
 * The error `promise` rejects with, checked to be a `type`, for the assertions on it that
 * `expect(…).rejects` cannot chain. A promise that resolves fails the test.
 */
export async function rejectionOf<E>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
): Promise<E> {
  const error = await promise.then(
    () => {
      throw new Error(`expected ${type.name}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(type);
  return error as E;
}
