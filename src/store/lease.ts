// The lease lock that decides which broker process of a cluster is active: what the role keeper in
// src/ha/ needs from it, whatever keeps it (Redis for a pair of processes, the process itself for
// the memory store). Taking the lease raises the fencing epoch every store write checks, so a
// broker that lost it cannot write even before it notices.

/** Who holds the lease, as the holder registered itself. */
export interface LeaseHolder {
  /** The holder's name (`ha.node`: host and pid unless configured). */
  node: string;
  epoch: number;
  /** Wall-clock ms when it took the lease. */
  since: number;
  /** Its admin address, for `junction status`; empty when the admin port is off. */
  admin: string;
}

export interface AcquireResult {
  /** The new fencing epoch when the lease was taken; undefined when someone else holds it. */
  epoch?: number;
  /** The holder as seen, when the lease stayed with it. */
  holder?: LeaseHolder;
  /** The holder looks gone (its connection is missing) but is given one more check to show up. */
  suspect?: boolean;
}

export interface Lease {
  /** Where the lease lives, for logs. */
  readonly description: string;
  /**
   * Takes the lease when it is free, or when its holder's process is gone (its connection to the
   * lock has closed), and raises the fencing epoch. Rejects when the lock cannot be reached.
   */
  acquire(): Promise<AcquireResult>;
  /** Extends the lease; false when it is no longer ours (taken over, or lost with the lock's data). */
  renew(): Promise<boolean>;
  /** Gives the lease up if it is still ours, so a standby takes over at once. */
  release(): Promise<void>;
  /** Resolves once every replica the writes must reach has the lease, when that is asked for. */
  replicated?(): Promise<boolean>;
  close(): Promise<void>;
}
