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

/**
 * The `type` error `promise` rejects with, or undefined when it resolves (an allowance not yet
 * used up, say); any other error is thrown on.
 */
export async function rejectionOrNone<E>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
): Promise<E | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    if (err instanceof type) return err;
    throw err;
  }
}
