// MQTT 5 Topic Aliases of one connection (§3.3.2.3.4), both ways. Inbound: what the client mapped
// (alias -> topic), up to the broker's Topic Alias Maximum. Outbound, when the client announced a
// Topic Alias Maximum: the first PUBLISH to a topic carries the topic and a new alias, later ones
// the alias and an empty topic; once every alias is taken they are reassigned in turn. An alias
// counts as set only once its PUBLISH was written (one dropped for its size sets nothing).
import type { OutboundPublish } from '../mapping.ts';

export class TopicAliases {
  readonly inbound = new Map<number, string>();
  private readonly byTopic = new Map<string, number>();
  private readonly topicOf: Array<string | undefined> = [];
  private lastReused = 0;

  /** The packet to write instead of `p`, and what to call once it was written (if it sets an alias). */
  outbound(p: OutboundPublish, maximum: number): [OutboundPublish, (() => void) | undefined] {
    const known = this.byTopic.get(p.topic);
    if (known !== undefined) return [{ ...p, topic: '', properties: { ...p.properties, topicAlias: known } }, undefined];
    let alias: number;
    if (this.byTopic.size < maximum) {
      alias = this.byTopic.size + 1;
    } else {
      this.lastReused = (this.lastReused % maximum) + 1;
      alias = this.lastReused;
    }
    const set = (): void => {
      const old = this.topicOf[alias];
      if (old !== undefined) this.byTopic.delete(old);
      this.topicOf[alias] = p.topic;
      this.byTopic.set(p.topic, alias);
    };
    return [{ ...p, properties: { ...p.properties, topicAlias: alias } }, set];
  }
}
