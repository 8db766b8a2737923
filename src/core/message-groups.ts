// Message groups of one queue (JMSXGroupID; the message's groupId): while a group has messages in
// flight, every message of it goes to the consumer that holds it, so one consumer at a time works
// through a group, in order. A group is free again once nothing of it is in flight, or when its
// consumer leaves.
export class MessageGroups<C> {
  private readonly owners = new Map<string, { consumer: C; inflight: number }>();

  /** The consumer that holds group `gid`; undefined when the group is free. */
  owner(gid: string): C | undefined {
    return this.owners.get(gid)?.consumer;
  }

  /** A message of group `gid` went out to `c` (which holds the group from now on, if it was free). */
  delivered(gid: string, c: C): void {
    const g = this.owners.get(gid);
    if (g) g.inflight++;
    else this.owners.set(gid, { consumer: c, inflight: 1 });
  }

  /** A message of group `gid` that `c` had is no longer in flight (settled, returned or timed out). */
  settled(gid: string, c: C): void {
    const g = this.owners.get(gid);
    if (g && g.consumer === c && --g.inflight <= 0) this.owners.delete(gid);
  }

  /** `c` left: every group it held is free. */
  forget(c: C): void {
    for (const [gid, g] of this.owners) if (g.consumer === c) this.owners.delete(gid);
  }
}
