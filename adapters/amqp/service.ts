// The AMQP 1.0 side of the broker on a rhea container: SASL through the security service, and the
// links clients attach turned into core calls. A client's sender (our receiver) publishes: credit is
// granted as the store keeps up, and a durable message is accepted only once stored. A client's
// receiver (our sender) is a core consumer in explicit-credit mode that follows the link's credit
// and drain; the client's outcomes settle it (accepted = ack, released = back now,
// modified = redeliver, counted when delivery-failed, never to this link when undeliverable-here,
// rejected = dead-letter with the error as the reason).
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Duplex } from 'node:stream';
import rhea, {
  type AmqpError,
  type Connection,
  type Container,
  type Delivery as AmqpDelivery,
  type Message as AmqpMessage,
  type EventContext,
  type Receiver,
  type Sender,
} from 'rhea';
import type { AdapterContext } from '../adapter.ts';
import type { Consumer } from '../../src/core/consumer.ts';
import type { Destination } from '../../src/core/destination.ts';
import { JunctionError } from '../../src/shared/errors.ts';
import type { ClientContext, Principal } from '../../src/core/principal.ts';
import type { SubscribeRequest } from '../../src/core/broker.ts';
import type { BrowsedMessage, QueueBrowser } from '../../src/core/queue-browser.ts';
import { AddressError, addressOf, capabilitiesOf, destinationOf, streamOf } from './addresses.ts';
import { streamRecordOf, streamSourceOf, type StreamSource } from './streams.ts';
import { ConversionError, fromAmqp, toAmqp } from './conversion.ts';
import { DISCARDED, MAX_MESSAGE_VALUES, outcomes, overBudget, rawOf, serveConnection, type SaslServerMechanism } from './rhea-fixes.ts';
import { AmqpTransactions, TransactionError } from './transactions.ts';
import type { ConnectionInfo } from '../../src/net/connection.ts';

/** The capability by which a client asks to be the only connection of its container id. */
const SOLE_CONNECTION = 'sole-connection-for-container';

export interface AmqpSettings {
  /** Messages a client may send ahead of the store (link credit granted to its senders). */
  creditWindow: number;
  /** What a bare address names when no capability says. */
  bareAddress: 'queue' | 'topic';
  /** Largest encoded message a client may send (each receiving link's max-message-size). */
  maxMessageBytes: number;
  /** Largest frame a client may send once its OPEN is accepted (the max-frame-size announced). */
  maxFrameBytes: number;
  /** Largest frame before that: SASL and OPEN (RabbitMQ: 4096). */
  maxHandshakeFrameBytes: number;
  /** Values (AMQP 1.0 §1.6) one received message may hold; more is refused before it is decoded. */
  maxMessageValues: number;
}

interface ConnState {
  /** Known at once (temporary queues need it while the attach is being answered). */
  connectionId: string;
  ready: Promise<ClientContext>;
  ctx?: ClientContext;
  consumers: Set<Consumer>;
}

interface Outgoing {
  consumer: Consumer;
  durable?: { clientId: string; name: string };
}

/** Source filters as Qpid JMS and ActiveMQ send them: by descriptor symbol or code, under a conventional key. */
const SELECTOR_FILTER = 'apache.org:selector-filter:string';
const SELECTOR_CODE = 0x0000468c00000004;
const NO_LOCAL_FILTER = 'apache.org:no-local-filter:list';
const NO_LOCAL_CODE = 0x0000468c00000003;

/** The AMQP error condition for a refused operation. */
export function conditionOf(err: unknown): AmqpError {
  if (err instanceof JunctionError) {
    const condition =
      {
        'not-authorized': 'amqp:unauthorized-access',
        'not-authenticated': 'amqp:unauthorized-access',
        'queue-full': 'amqp:resource-limit-exceeded',
        'resource-limit': 'amqp:resource-limit-exceeded',
        'invalid-destination': 'amqp:not-found',
        'not-found': 'amqp:not-found',
        'invalid-message': 'amqp:invalid-field',
        'invalid-selector': 'amqp:invalid-field',
        'invalid-argument': 'amqp:invalid-field',
        'subscription-conflict': 'amqp:resource-locked',
        'store-unavailable': 'amqp:internal-error',
      }[err.code as string] ?? 'amqp:internal-error';
    return { condition, description: err.message };
  }
  if (err instanceof ConversionError) return { condition: 'amqp:invalid-field', description: err.message };
  if (err instanceof TransactionError) return { condition: err.condition, description: err.message };
  if (err instanceof AddressError) return { condition: 'amqp:not-found', description: err.message };
  return { condition: 'amqp:internal-error', description: 'Internal broker error' };
}

/** A queue browser on a sending link: pages read ahead of the link's credit, and the drain it owes. */
interface Browse {
  browser: QueueBrowser;
  pending: BrowsedMessage[];
  done: boolean;
  reading: boolean;
  draining: boolean;
}

/** Messages a queue browser reads at a time. */
const BROWSE_PAGE = 100;

export class AmqpService {
  readonly container: Container;
  /** Connection options for every listener (credit and outcomes are managed here). */
  readonly connectionOptions: Record<string, unknown>;
  private readonly states = new WeakMap<Connection, ConnState>();
  /** Open connections by container id (for sole-connection-for-container). */
  private readonly containers = new Map<string, Set<Connection>>();
  /** Principals of users who passed SASL PLAIN, by name. */
  private readonly principals = new Map<string, Principal>();
  private readonly targets = new WeakMap<Receiver, Destination | undefined>();
  /** Receiving links whose target is a stream. */
  private readonly streamTargets = new WeakMap<Receiver, string>();
  private readonly outgoing = new WeakMap<Sender, Outgoing>();
  private readonly deliveries = new WeakMap<AmqpDelivery, { consumer: Consumer; tag: number; open: Set<AmqpDelivery> }>();
  /** Each consumer's deliveries not yet settled, so a close can first apply outcomes already received. */
  private readonly unsettled = new WeakMap<Consumer, Set<AmqpDelivery>>();
  /** Sending links in copy mode (queue browsers). */
  private readonly browses = new WeakMap<Sender, Browse>();
  private readonly log: Logger;
  /** What the listener said about each connection: a refusal, and whom to tell the handshake is done. */
  private readonly handshakes = new WeakMap<Connection, ConnectionInfo>();
  /** Connections refused over a connection limit: nothing they send is served. */
  private readonly refused = new WeakSet<Connection>();
  private readonly txns: AmqpTransactions;

  /** Connections whose OPEN was accepted: the full max-frame-size applies to them. */
  private readonly established = new WeakSet<Connection>();

  /** Serves a connection stream a listener accepted. */
  accept(stream: Duplex, info: ConnectionInfo): void {
    const remote = `${info.remoteAddress}:${info.remotePort}`;
    const conn = serveConnection(this.container, stream, this.connectionOptions, {
      limit: (c) => (this.established.has(c) ? this.settings.maxFrameBytes : this.settings.maxHandshakeFrameBytes),
      tooBig: (c, over) => {
        const open = this.established.has(c);
        const setting = open ? 'amqp.maxFrameBytes' : 'amqp.maxHandshakeFrameBytes';
        this.log.info({ remote, size: over.size, limit: over.limit }, `amqp frame over ${setting}: connection closed`);
        stream.pause();
        if (open) {
          // The peer hears why (AMQP 1.0 §2.8.15 framing-error); nothing it sends is read any more.
          this.guard(() =>
            c.close({
              condition: 'amqp:connection:framing-error',
              description: `frame of ${over.size} bytes is over the max-frame-size ${over.limit}`,
            }),
          );
          setTimeout(() => stream.destroy(), 1000).unref();
        } else {
          stream.destroy();
        }
      },
    });
    this.handshakes.set(conn, info);
  }

  constructor(
    private readonly a: AdapterContext,
    private readonly settings: AmqpSettings,
    log: Logger,
  ) {
    this.log = log;
    this.txns = new AmqpTransactions(a.broker, a.config.limits, log);
    const c = rhea.create_container({ id: `junction-${randomUUID()}` });
    this.container = c;
    const mechanisms = c.sasl_server_mechanisms as unknown as Record<string, SaslServerMechanism>;
    // PLAIN: rhea's parser, with the check made per connection (its address counts against the failure budget).
    c.sasl_server_mechanisms.enable_plain(() => false);
    const rheaPlain = mechanisms.PLAIN as SaslServerMechanism;
    mechanisms.PLAIN = (conn) => {
      const m = rheaPlain(conn) as ReturnType<SaslServerMechanism> & { callback: (user: string, pass: string) => Promise<boolean> };
      m.callback = async (user, pass) => {
        try {
          this.principals.set(user, await a.security.authenticate(user, pass, { from: this.source(conn) }));
          return true;
        } catch {
          return false;
        }
      };
      return m;
    };
    if (a.security.allowAnonymous) c.sasl_server_mechanisms.enable_anonymous();

    this.connectionOptions = {
      // What Qpid JMS looks for: sends through one link (ANONYMOUS-RELAY), shared subscriptions,
      // delivery delay, and the enforcement of a JMS client id (sole-connection-for-container);
      // the address prefixes ActiveMQ announces, so JMS destinations map to queue:// and topic://.
      offered_capabilities: ['ANONYMOUS-RELAY', 'SHARED-SUBS', 'DELAYED_DELIVERY', SOLE_CONNECTION],
      properties: { product: 'Junction', 'queue-prefix': 'queue://', 'topic-prefix': 'topic://' },
      require_sasl: !a.security.allowAnonymous,
      // SASL EXTERNAL, offered by rhea only on a TLS connection whose client certificate the CA
      // verified: the certificate names the user (tls.identityFrom), taken when the connection opens.
      enable_sasl_external: a.config.tls.identityFrom !== undefined,
      max_frame_size: settings.maxFrameBytes,
      [MAX_MESSAGE_VALUES]: settings.maxMessageValues,
      receiver_options: { credit_window: 0, autoaccept: false, max_message_size: settings.maxMessageBytes },
      sender_options: { treat_modified_as_released: false, autosettle: false },
    };
    c.on('error', (err: unknown) => this.log.warn({ err }, 'amqp connection error'));
    // rhea calls these while decoding a peer's frames: an exception must not reach its reader.
    const on = (event: string, f: (e: EventContext) => void): void => {
      c.on(event, (e: EventContext) => {
        if (this.refused.has(e.connection) && event !== 'connection_open') return;
        try {
          f(e);
        } catch (err) {
          this.log.warn({ err, event }, 'amqp event handler failed');
        }
      });
    };
    on('connection_open', (e) => {
      const h = this.handshakes.get(e.connection);
      if (h?.refused !== undefined) {
        this.refused.add(e.connection);
        this.log.info({ reason: h.refused }, 'amqp connection refused');
        e.connection.close({ condition: 'amqp:resource-limit-exceeded', description: h.refused });
        return;
      }
      const clash = this.containerClash(e.connection);
      if (clash !== undefined) {
        this.refused.add(e.connection);
        this.log.info({ container: clash }, 'amqp connection refused: its container id (JMS client id) is already connected');
        // The OPEN about to go out says the connection failed (AMQP 1.0 §2.4.1), so clients report the CLOSE's error.
        const local = (e.connection as unknown as { local: { open: { properties?: Record<string, unknown> } } }).local.open;
        local.properties = { ...local.properties, 'amqp:connection-establishment-failed': true };
        e.connection.close({
          condition: 'amqp:invalid-field',
          description: `Container id ${clash} is already connected: a JMS client id can be in use by one connection at a time`,
          info: rhea.types.wrap_symbolic_map({ 'invalid-field': rhea.types.wrap_symbol('container-id') }),
        } as unknown as Parameters<Connection['close']>[0]);
        return;
      }
      h?.established();
      this.established.add(e.connection);
      const id = e.connection.container_id;
      let same = this.containers.get(id);
      if (!same) this.containers.set(id, (same = new Set()));
      same.add(e.connection);
      this.opened(e.connection);
    });
    on('disconnected', (e) => this.closed(e.connection));
    on('connection_close', (e) => this.closed(e.connection));
    on('receiver_open', (e) => this.receiverOpen(e.connection, e.receiver as Receiver));
    on('message', (e) => this.message(e));
    on('sender_open', (e) => this.senderOpen(e.connection, e.sender as Sender));
    on('sendable', (e) => setImmediate(() => this.guard(() => this.syncCredit(e.sender as Sender))));
    on('sender_draining', (e) => setImmediate(() => this.guard(() => this.drain(e.sender as Sender))));
    on('sender_close', (e) => this.senderClosed(e.sender as Sender));
    on('accepted', (e) => this.outcome(e.delivery as AmqpDelivery, 'accepted'));
    on('released', (e) => this.outcome(e.delivery as AmqpDelivery, 'released'));
    on('modified', (e) => this.outcome(e.delivery as AmqpDelivery, 'modified'));
    on('rejected', (e) => this.outcome(e.delivery as AmqpDelivery, 'rejected'));
    on('settled', (e) => this.outcome(e.delivery as AmqpDelivery, 'settled'));
    on('transactional_state', (e) => this.outcome(e.delivery as AmqpDelivery, 'transactional'));
    on('receiver_close', (e) => {
      const r = e.receiver as Receiver;
      if (this.txns.isCoordinator(r)) this.txns.coordinatorClosed(e.connection, r);
    });
  }

  /**
   * The container id of `conn` when it asks to be the only connection of its container (Qpid JMS
   * does when the application set a client id) and another open connection has that id; as
   * Artemis does, connections that do not ask may share a container id (rhea opens all of a
   * container's connections under one).
   */
  private containerClash(conn: Connection): string | undefined {
    const desired = (conn as unknown as { remote?: { open?: { desired_capabilities?: unknown } } }).remote?.open?.desired_capabilities;
    const wants = Array.isArray(desired) ? desired.map(String) : desired === undefined ? [] : [String(desired)];
    if (!wants.includes(SOLE_CONNECTION)) return undefined;
    const id = conn.container_id;
    for (const other of this.containers.get(id) ?? []) if (other !== conn && other.is_open()) return id;
    return undefined;
  }

  /** Where a connection comes from, for the audit trail and the failure budget. */
  private source(conn: Connection): { protocol: string; address: string } {
    return { protocol: 'amqp', address: this.handshakes.get(conn)?.remoteAddress ?? '' };
  }

  private state(conn: Connection): ConnState {
    let st = this.states.get(conn);
    if (!st) st = this.opened(conn);
    return st;
  }

  private opened(conn: Connection): ConnState {
    const existing = this.states.get(conn);
    if (existing) return existing;
    // rhea exposes the SASL user only on its transport (with ANONYMOUS also on, on the chosen mechanism).
    const sasl = (conn as unknown as { sasl_transport?: { username?: string; selected?: { username?: string } } }).sasl_transport;
    const user = sasl?.username ?? sasl?.selected?.username;
    const connectionId = randomUUID();
    const st: ConnState = {
      connectionId,
      consumers: new Set(),
      ready: (user !== undefined && this.principals.has(user)
        ? Promise.resolve(this.principals.get(user) as Principal)
        : this.a.security.authenticate(undefined, undefined, { certified: this.handshakes.get(conn)?.certified, from: this.source(conn) })
      ).then((principal) => {
        const clientId = conn.container_id;
        const ctx: ClientContext = { connectionId, principal, ...(clientId ? { clientId } : {}) };
        st.ctx = ctx;
        const info = this.handshakes.get(conn);
        this.a.broker.connections.add({
          id: connectionId,
          protocol: 'amqp',
          protocolVersion: '1.0',
          transport: info?.transport ?? 'tcp',
          remoteAddress: info ? `${info.remoteAddress}:${info.remotePort}` : '',
          clientId,
          user: principal.username,
          principal,
          close: (reason) => this.guard(() => conn.close({ condition: 'amqp:connection:forced', description: reason })),
        });
        this.log.info({ connection: ctx.connectionId, user: principal.username, container: clientId }, 'amqp connection open');
        return ctx;
      }),
    };
    st.ready.catch((err: unknown) => {
      this.guard(() => conn.close(conditionOf(err)));
    });
    this.states.set(conn, st);
    return st;
  }

  private closed(conn: Connection): void {
    this.txns.connectionClosed(conn);
    const same = this.containers.get(conn.container_id);
    if (same?.delete(conn) && same.size === 0) this.containers.delete(conn.container_id);
    const st = this.states.get(conn);
    if (!st) return;
    this.states.delete(conn);
    for (const c of st.consumers) {
      this.applyArrivedOutcomes(c);
      c.close();
    }
    st.consumers.clear();
    if (st.ctx) {
      this.a.broker.connectionClosed(st.ctx.connectionId);
      this.log.info({ connection: st.ctx.connectionId }, 'amqp connection closed');
    }
  }

  // ---- client senders: publishing ---------------------------------------------------------

  private receiverOpen(conn: Connection, r: Receiver): void {
    if (AmqpTransactions.targetsCoordinator(r)) {
      this.txns.attach(r, 0);
      void this.state(conn).ready.then(
        () => this.guard(() => r.add_credit(this.settings.creditWindow)),
        () => {},
      );
      return;
    }
    const address = r.target?.address;
    const caps = capabilitiesOf(r.target);
    r.set_target({ address: address ?? undefined, capabilities: caps.length > 0 ? caps : undefined } as unknown as Parameters<
      Receiver['set_target']
    >[0]);
    let dest: Destination | undefined;
    let stream: string | undefined;
    try {
      stream = streamOf(address);
      dest = address && stream === undefined ? destinationOf(address, caps, false, this.settings.bareAddress) : undefined; // no address: the anonymous relay
    } catch (err) {
      r.close(conditionOf(err));
      return;
    }
    if (stream !== undefined) {
      this.streamTargets.set(r, stream);
      const named = stream;
      void this.state(conn).ready.then(
        (ctx) =>
          this.guard(() => {
            try {
              this.a.streams.authorize(ctx, 'write', named);
            } catch (err) {
              r.close(conditionOf(err));
              return;
            }
            r.add_credit(this.settings.creditWindow);
          }),
        () => {},
      );
      return;
    }
    this.targets.set(r, dest);
    const st = this.state(conn);
    void st.ready.then(
      (ctx) =>
        this.guard(() => {
          if (dest && ctx.principal) {
            try {
              this.a.security.check(ctx.principal, 'write', dest, { clientId: ctx.clientId, from: this.source(conn).address });
            } catch {
              r.close({
                condition: 'amqp:unauthorized-access',
                description: `${ctx.principal.username} may not send to ${addressOf(dest)}`,
              });
              return;
            }
          }
          r.add_credit(this.settings.creditWindow);
        }),
      () => {},
    );
  }

  private message(e: EventContext): void {
    const r = e.receiver as Receiver;
    const delivery = e.delivery as AmqpDelivery;
    const m = e.message;
    if (!m || (delivery as unknown as { [DISCARDED]?: boolean })[DISCARDED]) return;
    const st = this.state(e.connection);
    const credit = (): void =>
      this.guard(() => {
        if (r.is_open()) r.add_credit(1);
      });
    if (this.txns.isCoordinator(r)) {
      void st.ready
        .then((ctx) => this.txns.control(e.connection, r, delivery, m, ctx))
        .catch((err: unknown) => this.guard(() => delivery.reject(conditionOf(err))))
        .finally(credit);
      return;
    }
    const values = overBudget(m);
    if (values !== undefined) {
      const description = `A message of more than ${this.settings.maxMessageValues} AMQP values (properties, map entries, list items) is over amqp.maxMessageValues`;
      if (delivery.remote_settled) this.log.info({ values }, 'pre-settled amqp message over amqp.maxMessageValues dropped');
      else delivery.reject({ condition: 'amqp:resource-limit-exceeded', description });
      credit();
      return;
    }
    const size = rawOf(m)?.length ?? 0;
    if (size > this.settings.maxMessageBytes) {
      const description = `A message of ${size} bytes is over this link's max-message-size of ${this.settings.maxMessageBytes} (amqp.maxMessageBytes)`;
      if (delivery.remote_settled) this.log.info({ size }, 'pre-settled amqp message over the size limit dropped');
      else delivery.reject({ condition: 'amqp:link:message-size-exceeded', description });
      credit();
      return;
    }
    const dest = this.targets.get(r);
    const presettled = delivery.remote_settled;
    const user = (ctx: ClientContext): string | undefined => (ctx.principal?.anonymous ? undefined : ctx.principal?.username);
    const txn = AmqpTransactions.stateOf((delivery as unknown as { remote_state?: unknown }).remote_state);
    const stream = this.streamTargets.get(r);
    if (stream !== undefined) {
      if (txn) {
        delivery.reject({ condition: 'amqp:not-implemented', description: 'A stream takes no transactional transfers' });
        credit();
        return;
      }
      void st.ready
        .then((ctx) =>
          this.a.streams.publish(
            stream,
            streamRecordOf(fromAmqp(m, rawOf(m), { kind: 'queue', name: stream }, undefined, Date.now())),
            ctx,
          ),
        )
        .then(
          () => this.guard(() => (presettled ? undefined : delivery.accept())),
          (err: unknown) => this.guard(() => (presettled ? undefined : delivery.reject(conditionOf(err)))),
        )
        .finally(credit);
      return;
    }
    if (txn) {
      void st.ready
        .then((ctx) => this.txns.enlistSend(e.connection, delivery, txn.txnId, fromAmqp(m, rawOf(m), dest, user(ctx), Date.now())))
        .catch((err: unknown) => this.guard(() => delivery.reject(conditionOf(err))))
        .finally(credit);
      return;
    }
    void st.ready
      .then((ctx) => this.a.broker.publish(fromAmqp(m, rawOf(m), dest, user(ctx), Date.now()), ctx))
      .then(
        () =>
          this.guard(() => {
            if (!presettled) delivery.accept();
          }),
        (err: unknown) =>
          this.guard(() => {
            if (!presettled) delivery.reject(conditionOf(err));
            else this.log.info({ err: (err as Error).message }, 'pre-settled amqp message refused (at-most-once: dropped)');
          }),
      )
      .finally(credit);
  }

  // ---- client receivers: consuming --------------------------------------------------------

  private senderOpen(conn: Connection, s: Sender): void {
    const source = s.source ?? {};
    const caps = capabilitiesOf(source);
    const filters = (source.filter ?? {}) as Record<string, unknown>;
    const st = this.state(conn);
    const selector = unwrapFilter(findFilter(filters, SELECTOR_FILTER, SELECTOR_CODE, 'jms-selector'));
    const noLocal = findFilter(filters, NO_LOCAL_FILTER, NO_LOCAL_CODE, 'no-local') !== undefined;
    const durableTerminus = Number(source.durable ?? 0) > 0 || source.expiry_policy === 'never';
    let dest: Destination;
    let stream: StreamSource | undefined;
    try {
      const name = source.dynamic ? undefined : streamOf(source.address);
      if (name !== undefined) {
        if (!this.a.streams.has(name)) throw new AddressError(`Stream ${name} not found`);
        stream = streamSourceOf(name, filters, durableTerminus ? (s.name.split('|')[0] as string) : undefined);
      }
    } catch (err) {
      s.set_source({ address: source.address } as unknown as Parameters<Sender['set_source']>[0]);
      s.close(conditionOf(err));
      return;
    }
    try {
      if (stream !== undefined) {
        dest = { kind: 'queue', name: stream.name };
      } else if (source.dynamic) {
        dest = caps.includes('temporary-topic')
          ? { kind: 'topic', name: `TEMP.TOPIC.${randomUUID()}` }
          : this.a.broker.createTemporaryQueue({ connectionId: st.connectionId });
      } else {
        if (!source.address) throw new AddressError('A receiving link needs a source address (or dynamic: true)');
        dest = destinationOf(source.address, caps, true, this.settings.bareAddress);
      }
    } catch (err) {
      s.set_source({ address: source.address } as unknown as Parameters<Sender['set_source']>[0]);
      s.close(conditionOf(err));
      return;
    }
    // The attach is answered when this handler returns: the source (with a dynamic address) goes back now.
    s.set_source({ ...source, address: source.dynamic ? addressOf(dest) : source.address } as unknown as Parameters<
      Sender['set_source']
    >[0]);
    if ((source as { distribution_mode?: unknown }).distribution_mode === 'copy') {
      const browsed = dest;
      void st.ready
        .then((ctx) => this.startBrowse(s, browsed, selector, ctx))
        .catch((err: unknown) => this.guard(() => s.close(conditionOf(err))));
      return;
    }
    void st.ready
      .then(async (ctx) => {
        // Deliveries can start while subscribe() runs, before the consumer is known: those wait.
        const holder: { consumer?: Consumer; early: Array<Parameters<SubscribeRequest['onMessage']>[0]> } = { early: [] };
        // This link's deliveries not yet settled (made once: the delivery path looks nothing up).
        const open = new Set<AmqpDelivery>();
        const deliver = (d: Parameters<SubscribeRequest['onMessage']>[0]): void => {
          const consumer = holder.consumer;
          if (!consumer) {
            holder.early.push(d);
            return;
          }
          const delivery = sendMessage(s, toAmqp(d, Date.now()));
          if (s.snd_settle_mode === 1)
            consumer.ack(d.tag); // pre-settled link: at-most-once
          else {
            this.deliveries.set(delivery, { consumer, tag: d.tag, open });
            open.add(delivery);
          }
        };
        const req: SubscribeRequest = {
          destination: dest,
          creditMode: 'explicit',
          prefetch: 0,
          noLocal,
          onMessage: deliver,
          onClosed: (reason) => s.close({ condition: 'amqp:resource-deleted', description: reason }),
          // Policy slowConsumer: disconnect ends this link only (the rest of the connection goes on).
          onAborted: (reason, cause) =>
            this.guard(() =>
              s.close({
                condition: cause === 'not-authorized' ? 'amqp:unauthorized-access' : 'amqp:resource-limit-exceeded',
                description: reason,
              }),
            ),
        };
        if (selector !== undefined) req.selector = selector;
        const linkName = s.name.split('|')[0] as string;
        let durable: Outgoing['durable'];
        if (stream !== undefined) {
          // A stream's named consumer keeps its position: nothing to make durable here.
        } else if (dest.kind === 'topic' && caps.includes('shared')) {
          req.shared = { name: linkName, durable: durableTerminus };
        } else if (dest.kind === 'topic' && durableTerminus) {
          if (!ctx.clientId) throw new AddressError('A durable subscription needs a container id');
          durable = { clientId: ctx.clientId, name: linkName };
          req.durable = durable;
        }
        const consumer =
          stream === undefined
            ? await this.a.broker.subscribe(req, ctx)
            : await this.a.streams.subscribe(
                stream.name,
                {
                  offset: stream.offset,
                  ...(stream.consumerName !== undefined ? { consumerName: stream.consumerName } : {}),
                  creditMode: 'explicit',
                  prefetch: 0,
                  onMessage: deliver,
                  onClosed: req.onClosed,
                },
                ctx,
              );
        holder.consumer = consumer;
        this.unsettled.set(consumer, open);
        for (const d of holder.early.splice(0)) deliver(d);
        if (!this.states.has(conn)) {
          consumer.close();
          return;
        }
        st.consumers.add(consumer);
        this.outgoing.set(s, { consumer, ...(durable ? { durable } : {}) });
        setImmediate(() => this.syncCredit(s));
      })
      .catch((err: unknown) =>
        this.guard(() => {
          if (s.is_open()) s.close(conditionOf(err));
        }),
      );
  }

  /**
   * Runs a reply to a client whose link or connection may have gone meanwhile: rhea throws then,
   * and an exception in a promise callback would otherwise end the process.
   */
  private guard(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.log.debug({ err }, 'amqp reply to a link that has gone');
    }
  }

  // ---- browsing (distribution-mode copy) ---------------------------------------------------

  /** A sending link in copy mode (Qpid JMS QueueBrowser): a snapshot of the queue, consuming nothing. */
  private startBrowse(s: Sender, dest: Destination, selector: string | undefined, ctx: ClientContext): void {
    const browser = this.a.broker.browse({ destination: dest, selector }, ctx);
    this.browses.set(s, { browser, pending: [], done: false, reading: false, draining: false });
    this.pumpBrowse(s);
  }

  /** Sends what the link's credit allows, reading the next page when needed; answers a drain at the end. */
  private pumpBrowse(s: Sender): void {
    const b = this.browses.get(s);
    if (!b || !s.is_open()) return;
    const credit = (): number => (s as unknown as { credit: number }).credit; // rhea's typings omit the link credit
    while (credit() > 0 && b.pending.length > 0) sendMessage(s, toAmqp(b.pending.shift() as BrowsedMessage, Date.now()));
    if (b.pending.length > 0 || credit() <= 0) return;
    if (!b.done) {
      if (b.reading) return;
      b.reading = true;
      b.browser.next(BROWSE_PAGE).then(
        (batch) => {
          b.reading = false;
          if (batch.length === 0) b.done = true;
          else b.pending.push(...batch);
          this.guard(() => this.pumpBrowse(s));
        },
        (err: unknown) => {
          b.reading = false;
          this.guard(() => s.close(conditionOf(err)));
        },
      );
      return;
    }
    if (b.draining) {
      b.draining = false;
      s.set_drained(true);
    }
  }

  /** The core consumer follows the link's credit. */
  private syncCredit(s: Sender): void {
    if (this.browses.has(s)) {
      this.pumpBrowse(s);
      return;
    }
    const o = this.outgoing.get(s);
    if (!o || o.consumer.closed) return;
    const want = (s as unknown as { credit: number }).credit; // rhea's typings omit the link credit
    if (want > o.consumer.credit) o.consumer.addCredit(want - o.consumer.credit);
    else if (want < o.consumer.credit) o.consumer.credit = want;
  }

  private drain(s: Sender): void {
    const b = this.browses.get(s);
    if (b) {
      b.draining = true;
      this.pumpBrowse(s);
      return;
    }
    const o = this.outgoing.get(s);
    if (!o) return;
    this.syncCredit(s);
    o.consumer.drain();
    s.set_drained(true);
  }

  private senderClosed(s: Sender): void {
    const o = this.outgoing.get(s);
    if (!o) return;
    this.outgoing.delete(s);
    this.applyArrivedOutcomes(o.consumer);
    o.consumer.close();
    this.states.get(s.connection)?.consumers.delete(o.consumer);
    // A detach with closed=true ends a durable subscription (JMS unsubscribe); a plain detach keeps it.
    const detach = (s as unknown as { remote?: { detach?: { closed?: boolean } } }).remote?.detach;
    if (o.durable && detach?.closed) {
      try {
        this.a.broker.unsubscribeDurable(o.durable.clientId, o.durable.name);
      } catch (err) {
        this.log.info({ err: (err as Error).message }, 'amqp durable unsubscribe refused');
      }
    }
  }

  /**
   * rhea records an outcome as its disposition frame is read but tells us in its next output pass,
   * while a detach or close is told at once: outcomes that arrived before the close are applied
   * here first, so an accepted message is not redelivered and a rejected one is dead-lettered.
   */
  private applyArrivedOutcomes(consumer: Consumer): void {
    const open = this.unsettled.get(consumer);
    if (!open) return;
    for (const delivery of [...open]) {
      const kind = arrivedOutcome(delivery);
      if (kind) this.outcome(delivery, kind);
    }
  }

  private outcome(delivery: AmqpDelivery, kind: Outcome): void {
    const held = this.deliveries.get(delivery);
    if (!held) {
      // A browsed message (or one whose consumer has gone): settled, and nothing changes in the queue.
      if (!delivery.settled) this.guard(() => delivery.update(true));
      return;
    }
    this.deliveries.delete(delivery);
    held.open.delete(delivery);
    const { consumer, tag } = held;
    if (consumer.closed || !consumer.inflight.has(tag)) return;
    const txn = AmqpTransactions.stateOf(delivery.remote_state);
    if (txn) {
      this.transactedOutcome(delivery, txn, consumer, tag);
      return;
    }
    settle(consumer, tag, kind, delivery.remote_state);
    if (!delivery.settled) this.guard(() => delivery.update(true));
  }

  /** An outcome inside a transaction: applied when it commits (accepted: in its batch). */
  private transactedOutcome(delivery: AmqpDelivery, txn: { txnId: unknown; outcome: unknown }, consumer: Consumer, tag: number): void {
    const outcome = txn.outcome === null || txn.outcome === undefined ? undefined : outcomes.unwrap_outcome(txn.outcome);
    const kind = (outcome as { constructor?: { composite_type?: string } } | undefined)?.constructor?.composite_type;
    const conn = delivery.link.connection;
    try {
      if (kind === 'accepted') this.txns.enlistOutcome(conn, delivery, txn.txnId, consumer, tag);
      else if (kind === 'released' || kind === 'modified' || kind === 'rejected')
        this.txns.enlistOutcome(conn, delivery, txn.txnId, consumer, tag, () => settle(consumer, tag, kind, outcome));
    } catch (err) {
      this.log.info({ err: (err as Error).message }, 'amqp outcome for an unknown transaction ignored: the delivery stays unsettled');
    }
  }
}

/** Applies a client's outcome for an unsettled delivery. */
function settle(consumer: Consumer, tag: number, kind: Outcome, remoteState: unknown): void {
  const state = (remoteState ?? {}) as {
    delivery_failed?: boolean;
    undeliverable_here?: boolean;
    error?: { description?: string; condition?: string };
  };
  switch (kind) {
    case 'accepted':
    case 'settled':
      consumer.ack(tag);
      break;
    case 'released':
      consumer.release(tag, { failed: false, delay: false });
      break;
    case 'modified':
      consumer.release(tag, { failed: state.delivery_failed === true, undeliverableHere: state.undeliverable_here === true });
      break;
    case 'rejected':
      consumer.reject(tag, state.error?.description ?? state.error?.condition ?? 'rejected by the consumer');
      break;
    case 'transactional':
      break;
  }
}

type Outcome = 'accepted' | 'released' | 'modified' | 'rejected' | 'settled' | 'transactional';

/** Sends a message kept as sent (its encoded bytes, message format 0) or one mapped from another protocol. */
function sendMessage(s: Sender, m: AmqpMessage | Buffer): AmqpDelivery {
  return Buffer.isBuffer(m) ? s.send(m, undefined, 0) : s.send(m);
}

/** The outcome the client has sent for a delivery, if any (rhea's types carry their name). */
function arrivedOutcome(d: AmqpDelivery): Outcome | undefined {
  const type = (d.remote_state as { constructor?: { composite_type?: string } } | undefined)?.constructor?.composite_type;
  if (type === 'accepted' || type === 'released' || type === 'modified' || type === 'rejected') return type;
  if (type === 'transactional_state') return 'transactional';
  return d.remote_settled ? 'settled' : undefined;
}

/** The filter with this descriptor (symbol or numeric code), or under this key. */
function findFilter(filters: Record<string, unknown>, symbol: string, code: number, key: string): unknown {
  for (const [k, f] of Object.entries(filters)) {
    if (k === key || k === symbol) return f;
    const d = (f as { descriptor?: { value?: unknown } } | null)?.descriptor?.value;
    if (d === symbol) return f;
    if (typeof d === 'number' && d === code) return f;
    if (Buffer.isBuffer(d) && d.length === 8 && Number(d.readBigUInt64BE()) === code) return f;
  }
  return undefined;
}

/** A filter's value: rhea hands described types as { descriptor, value }. */
function unwrapFilter(f: unknown): string | undefined {
  if (f === undefined || f === null) return undefined;
  if (typeof f === 'string') return f;
  const v = (f as { value?: unknown }).value;
  return typeof v === 'string' ? v : undefined;
}
