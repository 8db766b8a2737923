// Overlapping subscriptions of one MQTT 5 session: a message matching several of its filters goes
// out once, at the highest QoS they grant, carrying every one of their Subscription Identifiers
// (MQTT 5 §3.3.4 allows one copy or one per subscription; clients and conformance suites expect
// one, as Mosquitto and HiveMQ send). Each subscription is its own core queue, so the message
// arrives once per subscription: the first arrival is sent for the group, the others are settled
// unsent. Shared subscriptions and No Local ones deliver on their own.
import { matches } from '../../src/core/destination.ts';
import type { SubscriptionOptions } from './session-state.ts';
import type { MqttFilter } from './topics.ts';

export interface OverlapMember {
  readonly filter: MqttFilter;
  options: SubscriptionOptions;
  /** The member as a group of one. */
  readonly alone: this[];
}

/** Message ids remembered as sent for a group, waiting for the other copies (oldest forgotten first). */
const MAX_PENDING = 10_000;
/** Topics whose matching subscriptions are cached. */
const MAX_CACHED_TOPICS = 1_000;

function mergeable(l: OverlapMember): boolean {
  return l.filter.group === undefined && l.options.noLocal !== true;
}

export class Overlaps<L extends OverlapMember> {
  /** Message id -> copies still to come and be settled unsent (made when a session first has overlaps). */
  private pending: Map<string, number> | undefined;
  private byTopic: Map<string, L[]> | undefined;

  constructor(private readonly links: ReadonlyMap<string, L>) {}

  /** The session's subscriptions changed. */
  changed(): void {
    this.byTopic?.clear();
  }

  /** The subscriptions a delivery through `link` goes out for, or 'skip' when it already went with another's. */
  group(link: L, messageId: string, topic: string): L[] | 'skip' {
    if (this.links.size < 2 || !mergeable(link)) return link.alone;
    const pending = (this.pending ??= new Map());
    const left = pending.get(messageId);
    if (left !== undefined) {
      if (left <= 1) pending.delete(messageId);
      else pending.set(messageId, left - 1);
      return 'skip';
    }
    const group = this.matching(topic);
    if (group.length < 2 || !group.includes(link)) return link.alone;
    pending.set(messageId, group.length - 1);
    if (pending.size > MAX_PENDING) pending.delete(pending.keys().next().value as string);
    return group;
  }

  private matching(topic: string): L[] {
    const byTopic = (this.byTopic ??= new Map());
    let group = byTopic.get(topic);
    if (group) return group;
    group = [...this.links.values()].filter(
      (l) => mergeable(l) && matches(l.filter.pattern, topic) && !(l.filter.leadingWildcard && topic.startsWith('$')),
    );
    if (byTopic.size >= MAX_CACHED_TOPICS) byTopic.clear();
    byTopic.set(topic, group);
    return group;
  }
}
