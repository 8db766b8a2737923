// Who is on the other end of a connection, and the authorization hook the core calls before it
// routes a send, attaches a consumer or creates a destination.
import type { Destination } from './destination.ts';

export interface Principal {
  readonly username: string;
  readonly groups: ReadonlySet<string>;
  readonly anonymous: boolean;
}

/** read = consume/browse, write = send, admin = create (ActiveMQ's three permissions). */
export type Permission = 'read' | 'write' | 'admin';

export interface Authorizer {
  /**
   * Throws NotAuthorizedError when `principal` may not do `permission` on `destination`.
   * `temporary` is true only for a temporary destination the broker created.
   */
  check(principal: Principal, permission: Permission, destination: Destination, temporary: boolean): void;
}

/** Where a core call comes from. Without a principal the caller is trusted (internal use). */
export interface ClientContext {
  readonly connectionId: string;
  /** The protocol's client id (MQTT client id, STOMP/JMS client-id, AMQP container id). */
  readonly clientId?: string;
  readonly principal?: Principal;
}
