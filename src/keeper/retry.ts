/**
 * Retrying RPC calls with exponential backoff, and telling transient faults (the node is away, a
 * timeout, a rate limit) from answers (a revert is an answer: retrying it changes nothing).
 */

export interface RetryOptions {
  /** Attempts in all, the first included. */
  attempts: number;
  /** First delay, milliseconds; doubled after each failure (with ±20 % jitter) up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Called before each new attempt. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Stops waiting early (shutdown). */
  signal?: AbortSignal;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 6, baseDelayMs: 200, maxDelayMs: 10_000 };

/** Sleeps `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** The error's `code`, `message` and nested `error`/`info` messages, for classification. */
function describe(error: unknown): { code?: string; text: string } {
  if (typeof error !== "object" || error === null) return { text: String(error) };
  const e = error as { code?: unknown; message?: unknown; error?: unknown; info?: unknown; cause?: unknown };
  const parts = [typeof e.message === "string" ? e.message : ""];
  for (const inner of [e.error, e.info, e.cause]) if (inner !== undefined) parts.push(describe(inner).text);
  return { code: typeof e.code === "string" ? e.code : undefined, text: parts.join(" | ") };
}

/** Whether the error carries revert data (the call was executed and reverted). */
export function isRevert(error: unknown): boolean {
  const { code, text } = describe(error);
  return code === "CALL_EXCEPTION" || /revert|execution reverted|custom error/i.test(text);
}

/**
 * Whether retrying may help: network errors, timeouts, refused or reset connections, a server
 * error or rate limit. Reverts, bad arguments and nonce conflicts are not transient.
 */
export function isTransient(error: unknown): boolean {
  if (isRevert(error)) return false;
  const { code, text } = describe(error);
  if (code === "NETWORK_ERROR" || code === "TIMEOUT" || code === "SERVER_ERROR" || code === "UNKNOWN_ERROR") {
    return true;
  }
  return /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|socket hang up|fetch failed|network|timeout|429|502|503|504/i.test(
    text,
  );
}

/** Runs `fn`, retrying transient failures with exponential backoff; other errors are thrown at once. */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions = DEFAULT_RETRY): Promise<T> {
  let delay = options.baseDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= options.attempts || !isTransient(error) || options.signal?.aborted) throw error;
      const jittered = Math.round(delay * (0.8 + Math.random() * 0.4));
      options.onRetry?.(error, attempt, jittered);
      await sleep(jittered, options.signal);
      delay = Math.min(delay * 2, options.maxDelayMs);
    }
  }
}
