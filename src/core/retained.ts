// Retained messages: the last message kept per topic name, handed to new subscribers whose
// pattern matches (MQTT retain; ActiveMQ's retained-message policy). Lookups by pattern scan the
// retained set, which holds one message per topic.
import { hasWildcard, matches } from './destination.ts';
import type { Message } from './message.ts';

export class RetainedMessages {
  private readonly byTopic = new Map<string, Message>();

  get size(): number {
    return this.byTopic.size;
  }

  set(topic: string, message: Message | null): void {
    if (message === null) this.byTopic.delete(topic);
    else this.byTopic.set(topic, message);
  }

  match(pattern: string, now: number): Message[] {
    if (!hasWildcard(pattern)) {
      const m = this.byTopic.get(pattern);
      return m && !expired(m, now) ? [m] : [];
    }
    const out: Message[] = [];
    for (const [topic, m] of this.byTopic) if (matches(pattern, topic) && !expired(m, now)) out.push(m);
    return out;
  }
}

function expired(m: Message, now: number): boolean {
  return m.expiresAt > 0 && m.expiresAt <= now;
}
