// The failure budget per address and the audit's log budget, on a clock the test moves: an address
// is held back only past its failures, longer with each, never beyond the ceiling, and forgiven when
// its window ends; refusal lines stop at ten a second and the next line says how many were not logged.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { SecurityAudit } from '../../src/security/audit.ts';
import { LoginBudget } from '../../src/security/login-budget.ts';

describe('LoginBudget', () => {
  it('holds an address back past its failures, a step more per failure up to the ceiling, until its window ends', () => {
    let now = 0;
    const b = new LoginBudget({ failures: 3, windowMs: 60_000, stepMs: 1000, maxDelayMs: 2500 }, () => now);
    for (let i = 0; i < 2; i++) b.failed('10.0.0.1');
    expect(b.delayFor('10.0.0.1')).toBe(0);
    b.failed('10.0.0.1');
    expect(b.delayFor('10.0.0.1')).toBe(1000);
    b.failed('10.0.0.1');
    expect(b.delayFor('10.0.0.1')).toBe(2000);
    b.failed('10.0.0.1');
    expect(b.delayFor('10.0.0.1')).toBe(2500);
    expect(b.delayFor('10.0.0.2')).toBe(0);
    now = 60_000;
    expect(b.delayFor('10.0.0.1')).toBe(0);
  });

  it('keeps no budget when failures is 0', () => {
    const b = new LoginBudget({ failures: 0, windowMs: 60_000, stepMs: 1000, maxDelayMs: 2500 });
    for (let i = 0; i < 100; i++) b.failed('10.0.0.1');
    expect(b.delayFor('10.0.0.1')).toBe(0);
  });
});

describe('SecurityAudit', () => {
  it('counts every refusal, logs ten a second, and says how many it did not log', () => {
    const lines: Array<Record<string, unknown>> = [];
    let now = 0;
    const audit = new SecurityAudit(
      pino({}, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }),
      () => now,
    );
    for (let i = 0; i < 25; i++) audit.refused('dev', 'write', 'topic://x', '10.0.0.1:5000');
    expect(audit.refusals.get('write')).toBe(25);
    expect(lines).toHaveLength(10);
    now = 1000;
    audit.refused('dev', 'write', 'topic://x', '10.0.0.1:5000');
    expect(lines).toHaveLength(11);
    expect(lines[10]).toMatchObject({ audit: 'refused', unloggedBefore: 15 });
  });
});
