import { TransientRegistryFailure, backoffDelayMs, withRetries } from './retry-policy';

describe('backoffDelayMs', () => {
  it('doubles from the first delay and stops at the cap', () => {
    const policy = { retries: 10, firstDelayMs: 500, maxDelayMs: 3000 };
    expect([1, 2, 3, 4, 5].map((retry) => backoffDelayMs(retry, policy))).toEqual([500, 1000, 2000, 3000, 3000]);
  });
});

describe('withRetries', () => {
  const policy = { retries: 2, firstDelayMs: 1 };
  const quiet = {
    onRetry: () => undefined,
    exhausted: (failure: TransientRegistryFailure, attempts: number) => new Error(`gave up after ${attempts}: ${failure.reason}`),
  };

  it('retries transient failures and returns the first success', async () => {
    let calls = 0;
    const retries: number[] = [];
    const result = await withRetries(
      policy,
      async () => {
        calls += 1;
        if (calls < 3) throw new TransientRegistryFailure('reset');
        return 'done';
      },
      { ...quiet, onRetry: (_failure, retry) => retries.push(retry) },
    );
    expect(result).toBe('done');
    expect(retries).toEqual([1, 2]);
  });

  it('gives up after retries + 1 attempts', async () => {
    let calls = 0;
    await expect(
      withRetries(policy, async () => {
        calls += 1;
        throw new TransientRegistryFailure('503');
      }, quiet),
    ).rejects.toThrow('gave up after 3: 503');
    expect(calls).toBe(3);
  });

  it('does not retry other errors', async () => {
    let calls = 0;
    await expect(
      withRetries(policy, async () => {
        calls += 1;
        throw new Error('400 bad request');
      }, quiet),
    ).rejects.toThrow('400 bad request');
    expect(calls).toBe(1);
  });
});
