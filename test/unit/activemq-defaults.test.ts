// Defaults a team moving off ActiveMQ relies on without configuring anything: its default
// redelivery policy (a redelivery every second, six of them, then the dead-letter queue).
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, redeliveryDelay } from '../../src/core/policy.ts';

describe("ActiveMQ's defaults", () => {
  it('redelivers every 1 s, without backoff, 6 times before the DLQ', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => redeliveryDelay(DEFAULT_POLICY, n))).toEqual([1000, 1000, 1000, 1000, 1000, 1000]);
    expect(DEFAULT_POLICY.maxDeliveries).toBe(7);
    expect(DEFAULT_POLICY.deadLetterPrefix).toBe('DLQ.');
  });
});
