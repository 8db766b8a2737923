// The group map of a queue: sticky owners, closing a group, forgetting a consumer's groups, and the
// bound (least recently used groups go first).
import { describe, expect, it } from 'vitest';
import { MessageGroups } from '../../src/core/message-groups.ts';

describe('message groups', () => {
  it('keeps a group with its consumer, says when a consumer gets a group first, frees groups on close or leave', () => {
    const g = new MessageGroups<string>();
    expect(g.delivered('A', 'c1', false)).toBe(true);
    expect(g.delivered('A', 'c1', false)).toBe(false);
    expect(g.owner('A')).toBe('c1');
    expect(g.delivered('A', 'c1', true)).toBe(false);
    expect(g.owner('A')).toBeUndefined();
    g.delivered('B', 'c2', false);
    g.delivered('C', 'c2', false);
    g.forget('c2');
    expect(g.size).toBe(0);
  });

  it('forgets the least recently used group beyond its bound', () => {
    const g = new MessageGroups<string>(2);
    g.delivered('A', 'c1', false);
    g.delivered('B', 'c1', false);
    g.delivered('A', 'c1', false); // A used again: B is now the oldest
    g.delivered('C', 'c2', false);
    expect([g.owner('A'), g.owner('B'), g.owner('C')]).toEqual(['c1', undefined, 'c2']);
  });
});
