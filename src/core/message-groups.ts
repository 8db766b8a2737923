// Message groups of one queue (JMSXGroupID; the message's groupId), as ActiveMQ and Artemis keep
// them: the first message of a group picks a consumer, and the group stays with that consumer (so
// one consumer works through a group, in order) until the consumer leaves, or a message with
// JMSXGroupSeq = -1 closes the group. The map is bounded (least recently used groups are forgotten
// first, like ActiveMQ's cached group map of 1024): a forgotten group picks a consumer afresh.

/** ActiveMQ's default size of a queue's message group map. */
export const MAX_GROUPS = 1024;

export class MessageGroups<C> {
  /** Group to owner, least recently used first (Map keeps insertion order). */
  private owners: Map<string, C> | undefined;

  constructor(private readonly max = MAX_GROUPS) {}

  /** The consumer that holds group `gid`; undefined when the group is free. */
  owner(gid: string): C | undefined {
    return this.owners?.get(gid);
  }

  /**
   * A message of group `gid` went out to `c`; `closes` when it ends the group (JMSXGroupSeq -1).
   * True when `c` did not hold the group before: the message is the group's first for it.
   */
  delivered(gid: string, c: C, closes: boolean): boolean {
    const owners = (this.owners ??= new Map());
    const had = owners.get(gid);
    owners.delete(gid);
    if (!closes) {
      owners.set(gid, c);
      if (owners.size > this.max) owners.delete(owners.keys().next().value as string);
    }
    return had !== c;
  }

  /** `c` left: every group it held is free, and goes to the next consumer that takes one of its messages. */
  forget(c: C): void {
    const owners = this.owners;
    if (!owners) return;
    for (const [gid, owner] of owners) if (owner === c) owners.delete(gid);
    if (owners.size === 0) this.owners = undefined;
  }

  get size(): number {
    return this.owners?.size ?? 0;
  }
}
