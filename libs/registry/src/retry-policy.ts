/**
 * A failure worth trying again: the connection failed or was reset, or the registry answered
 * 5xx. Anything else (4xx, bad digests, refused credentials) fails at once, because repeating
 * the same request gets the same answer.
 */
export class TransientRegistryFailure extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'TransientRegistryFailure';
  }
}

export interface RetryPolicy {
  /** How many times to try again after the first attempt. */
  retries: number;
  /** The wait before the first retry; each later one waits twice as long as the one before. */
  firstDelayMs: number;
  maxDelayMs?: number;
}

const DEFAULT_MAX_DELAY_MS = 10_000;

/** Exponential backoff: firstDelayMs, 2×, 4× … capped at maxDelayMs, for retry 1, 2, 3 … */
export function backoffDelayMs(retry: number, policy: RetryPolicy): number {
  return Math.min(policy.firstDelayMs * 2 ** (retry - 1), policy.maxDelayMs ?? DEFAULT_MAX_DELAY_MS);
}

/**
 * Runs `attempt` until it succeeds, throws something other than a TransientRegistryFailure, or
 * has failed transiently `retries + 1` times; then `exhausted` builds the error to throw.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  attempt: (attemptNumber: number) => Promise<T>,
  hooks: {
    onRetry: (failure: TransientRegistryFailure, retry: number, delayMs: number) => void;
    exhausted: (failure: TransientRegistryFailure, attempts: number) => Error;
  },
): Promise<T> {
  for (let attemptNumber = 1; ; attemptNumber += 1) {
    try {
      return await attempt(attemptNumber);
    } catch (error) {
      if (!(error instanceof TransientRegistryFailure)) throw error;
      if (attemptNumber > policy.retries) throw hooks.exhausted(error, attemptNumber);
      const delayMs = backoffDelayMs(attemptNumber, policy);
      hooks.onRetry(error, attemptNumber, delayMs);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
