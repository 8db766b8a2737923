// ActiveMQ's temporary-destination advisories, which its JMS client relies on: a connection watches
// the topics ActiveMQ.Advisory.TempQueue and ActiveMQ.Advisory.TempTopic to learn which temporary
// destinations exist, and refuses to send to one it has not heard of ("Cannot publish to a deleted
// Destination"). The adapter keeps the temporary destinations its clients created and tells every
// advisory consumer of each one created or deleted, and a new advisory consumer of those that exist.
// Advisory topics are the adapter's alone: a consumer of one reaches no core topic (so it needs no
// read right), and other advisories (connections, consumers...) are not sent.
import type { Struct } from './layout-types.ts';

export const ADVISORY_PREFIX = 'ActiveMQ.Advisory.';
export const TEMP_QUEUE_ADVISORY = 'ActiveMQ.Advisory.TempQueue';
export const TEMP_TOPIC_ADVISORY = 'ActiveMQ.Advisory.TempTopic';

/** The advisory topic a temporary destination is announced on (its DestinationInfo's destination kind). */
export type AdvisoryListener = (topic: string, info: Struct) => void;

export class TemporaryDestinationAdvisories {
  /** DestinationInfo (ADD) by destination key. */
  private readonly known = new Map<string, { topic: string; info: Struct }>();
  private readonly listeners = new Set<AdvisoryListener>();

  /** Starts telling `listener`; it hears of the destinations that exist now at once. */
  watch(listener: AdvisoryListener): () => void {
    this.listeners.add(listener);
    for (const { topic, info } of this.known.values()) listener(topic, info);
    return () => this.listeners.delete(listener);
  }

  added(key: string, topic: string, info: Struct): void {
    this.known.set(key, { topic, info });
    for (const l of this.listeners) l(topic, info);
  }

  removed(key: string, info: Struct): void {
    const k = this.known.get(key);
    if (!k) return;
    this.known.delete(key);
    for (const l of this.listeners) l(k.topic, info);
  }
}
