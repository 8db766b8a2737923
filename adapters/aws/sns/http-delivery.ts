// Delivering to an HTTP(S) subscription the way SNS does: a POST of the notification (or the raw
// message) with SNS's x-amz-sns-* headers, any 2xx a success, anything else retried under the
// subscription's delivery policy (or its topic's, or SNS's default for HTTP: 3 retries 20 s
// apart), each attempt bounded in time.

export interface RetryPolicy {
  numRetries: number;
  numNoDelayRetries: number;
  minDelayTarget: number;
  maxDelayTarget: number;
  numMinDelayRetries: number;
  numMaxDelayRetries: number;
}

export const DEFAULT_HTTP_POLICY: RetryPolicy = {
  numRetries: 3,
  numNoDelayRetries: 0,
  minDelayTarget: 20,
  maxDelayTarget: 20,
  numMinDelayRetries: 0,
  numMaxDelayRetries: 0,
};

const ATTEMPT_TIMEOUT_MS = 15_000;

/** The retry policy a DeliveryPolicy attribute names (`healthyRetryPolicy`), over the default. */
export function retryPolicy(...deliveryPolicies: Array<string | undefined>): RetryPolicy {
  for (const text of deliveryPolicies) {
    if (text === undefined || text === '') continue;
    try {
      const doc = JSON.parse(text) as {
        healthyRetryPolicy?: Partial<RetryPolicy>;
        http?: { defaultHealthyRetryPolicy?: Partial<RetryPolicy> };
      };
      const p = doc.healthyRetryPolicy ?? doc.http?.defaultHealthyRetryPolicy;
      if (p) return { ...DEFAULT_HTTP_POLICY, ...p };
    } catch {
      // Checked when set; a stored one that no longer parses leaves the default.
    }
  }
  return DEFAULT_HTTP_POLICY;
}

/** Why a DeliveryPolicy is not one SNS accepts, or undefined. */
export function deliveryPolicyProblem(text: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return 'DeliveryPolicy: failed to parse JSON';
  }
  if (doc === null || typeof doc !== 'object') return 'DeliveryPolicy: must be a JSON object';
  const d = doc as { healthyRetryPolicy?: Record<string, unknown>; http?: { defaultHealthyRetryPolicy?: Record<string, unknown> } };
  const p = d.healthyRetryPolicy ?? d.http?.defaultHealthyRetryPolicy;
  if (!p) return undefined;
  for (const [k, v] of Object.entries(p)) {
    if (k === 'backoffFunction') continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return `DeliveryPolicy: ${k} must be a non-negative integer`;
  }
  const min = p.minDelayTarget;
  if (typeof min === 'number' && min < 1) return 'DeliveryPolicy: minDelayTarget must be at least 1';
  if (typeof p.numRetries === 'number' && p.numRetries > 100) return 'DeliveryPolicy: numRetries must be at most 100';
  return undefined;
}

/** Seconds before retry `n` (1-based): no delay, then the minimum, then rising to the maximum, then the maximum. */
export function retryDelaySeconds(p: RetryPolicy, n: number): number {
  if (n <= p.numNoDelayRetries) return 0;
  if (n <= p.numNoDelayRetries + p.numMinDelayRetries) return p.minDelayTarget;
  const backoff = Math.max(1, p.numRetries - p.numNoDelayRetries - p.numMinDelayRetries - p.numMaxDelayRetries);
  const k = n - p.numNoDelayRetries - p.numMinDelayRetries;
  if (k > backoff) return p.maxDelayTarget;
  return Math.round(p.minDelayTarget + ((p.maxDelayTarget - p.minDelayTarget) * k) / backoff);
}

export interface HttpDelivery {
  endpoint: string;
  type: 'Notification' | 'SubscriptionConfirmation';
  messageId: string;
  topicArn: string;
  subscriptionArn?: string;
  body: string;
  raw: boolean;
}

/** One POST, ended by `signal` too; true on a 2xx answer. */
export async function postOnce(d: HttpDelivery, signal?: AbortSignal): Promise<boolean> {
  try {
    const res = await fetch(d.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'text/plain; charset=UTF-8',
        'x-amz-sns-message-type': d.type,
        'x-amz-sns-message-id': d.messageId,
        'x-amz-sns-topic-arn': d.topicArn,
        ...(d.subscriptionArn !== undefined ? { 'x-amz-sns-subscription-arn': d.subscriptionArn } : {}),
        ...(d.raw ? { 'x-amz-sns-rawdelivery': 'true' } : {}),
        'user-agent': 'Amazon Simple Notification Service Agent',
      },
      body: d.body,
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]) : AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
    });
    await res.arrayBuffer().catch(() => undefined);
    return res.status >= 200 && res.status < 300;
  } catch {
    return false;
  }
}

/** POSTs until a 2xx answer or the policy's retries are spent (or `signal` ends it); true when delivered. */
export async function postWithRetries(d: HttpDelivery, policy: RetryPolicy, signal: AbortSignal): Promise<boolean> {
  for (let attempt = 0; attempt <= policy.numRetries && !signal.aborted; attempt++) {
    if (attempt > 0) {
      const wait = retryDelaySeconds(policy, attempt) * 1000;
      if (wait > 0) await sleep(wait, signal);
      if (signal.aborted) return false;
    }
    if (await postOnce(d, signal)) return true;
  }
  return false;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
