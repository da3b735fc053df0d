// Exponential backoff with jitter, honouring Retry-After (capped: a registry asking for an hour
// should fail the command, not hang it).

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  /** First delay; doubles each retry. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, baseDelayMs: 200, maxDelayMs: 10_000 };

export function backoffDelay(policy: RetryPolicy, attempt: number, retryAfter?: string | string[]): number {
  const ra = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
  if (ra !== undefined) {
    const secs = Number(ra);
    if (Number.isFinite(secs) && secs >= 0) return Math.min(secs * 1000, policy.maxDelayMs);
    const when = Date.parse(ra);
    if (!Number.isNaN(when)) return Math.min(Math.max(0, when - Date.now()), policy.maxDelayMs);
  }
  const exp = policy.baseDelayMs * 2 ** attempt;
  // ±25 % jitter so parallel blob fetches do not retry in lockstep.
  return Math.min(policy.maxDelayMs, exp * (0.75 + Math.random() * 0.5));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
