// Who is on the other end of a connection, and the authorization hook the core calls before it
// routes a send, attaches a consumer or creates a destination.
import type { Destination } from './destination.ts';
import type { SubscriptionReader } from '../store/store.ts';

export interface Principal {
  readonly username: string;
  readonly groups: ReadonlySet<string>;
  readonly anonymous: boolean;
  /** Named by a verified client certificate rather than a password. */
  readonly certified?: boolean;
}

/** read = consume/browse, write = send, admin = create (ActiveMQ's three permissions). */
export type Permission = 'read' | 'write' | 'admin';

export interface Authorizer {
  /**
   * Throws NotAuthorizedError when `principal` may not do `permission` on `destination`.
   * `temporary` is true only for a temporary destination the broker created; `clientId` is the
   * connection's client id, for rules that name it; `from` the client's address (the audit).
   */
  check(
    principal: Principal,
    permission: Permission,
    destination: Destination,
    opts: { temporary?: boolean; clientId?: string | undefined; from?: string | undefined },
  ): void;
  /**
   * How much of a topic filter `principal` may read: 'all', or only some of the topics it matches
   * (the reader whose rights each message is then checked against). Throws NotAuthorizedError
   * when none.
   */
  readScope?(principal: Principal, filter: Destination, clientId?: string): 'all' | SubscriptionReader;
  /** Whether `reader` may read the topic named `topic`. */
  mayRead?(reader: SubscriptionReader): (topic: string) => boolean;
  /**
   * After users or rights changed at run time: brings a signed-in principal's groups up to date
   * (in place), or says it is gone (its user was deleted).
   */
  refresh?(principal: Principal): 'kept' | 'gone';
}

/** Where a core call comes from. Without a principal the caller is trusted (internal use). */
export interface ClientContext {
  readonly connectionId: string;
  /** The protocol's client id (MQTT client id, STOMP/JMS client-id, AMQP container id). */
  readonly clientId?: string;
  readonly principal?: Principal;
}
