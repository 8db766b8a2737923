// AMQP 1.0 local transactions (§4): the coordinator link a client attaches, declare and discharge
// on it, and the transfers and dispositions that carry a transactional-state. Each transaction is
// the core's Transaction (the one STOMP BEGIN/COMMIT uses), so a commit is one atomic store batch;
// a failed commit, a discharge with fail, or the end of the coordinator link or connection rolls
// it back: its messages are forgotten and what it acknowledged is redelivered.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { type Connection, type Delivery as AmqpDelivery, type Message as AmqpMessage, type Receiver } from 'rhea';
import type { Broker } from '../../src/core/broker.ts';
import type { Consumer } from '../../src/core/consumer.ts';
import type { MessageInput } from '../../src/core/message.ts';
import type { ClientContext } from '../../src/core/principal.ts';
import { Transaction, type TransactionLimits } from '../../src/core/transaction.ts';
import { outcomes, rawOf, readValue, txnTypes, type Composite } from './rhea-fixes.ts';
import { splitSections, VALUE } from './sections.ts';

const LOCAL_TRANSACTIONS = 'amqp:local-transactions';

interface Open {
  tx: Transaction;
  coordinator: Receiver;
  /** Deliveries to the client settled inside the transaction: settled on our side when it ends. */
  deliveries: AmqpDelivery[];
}

export interface AmqpErrorCondition {
  condition: string;
  description: string;
}

export class TransactionError extends Error {
  constructor(
    readonly condition: string,
    message: string,
  ) {
    super(message);
  }
}

function isComposite(v: unknown, type: { new (...a: never[]): Composite } | undefined): v is Composite {
  return type !== undefined && v instanceof type;
}

function accepted(): unknown {
  return outcomes.accepted().described();
}

function rejected(error: AmqpErrorCondition): unknown {
  return outcomes.rejected({ error }).described();
}

/**
 * The described value a control message carries (declare or discharge). rhea drops the descriptor
 * of a described amqp-value when it decodes the body, so the value is read again from the bytes.
 */
function controlBody(m: AmqpMessage): unknown {
  const raw = rawOf(m);
  if (!raw) return undefined;
  try {
    const value = splitSections(raw).find((s) => s.code === VALUE);
    return value ? readValue(raw.subarray(value.valueAt, value.end)) : undefined;
  } catch {
    return undefined;
  }
}

export class AmqpTransactions {
  private readonly open = new WeakMap<Connection, Map<string, Open>>();
  private readonly coordinators = new WeakSet<Receiver>();

  constructor(
    private readonly broker: Broker,
    private readonly limits: TransactionLimits,
    private readonly log: Logger,
  ) {}

  /** True when the client attached `r` to the transaction coordinator. */
  static targetsCoordinator(r: Receiver): boolean {
    const target = (r as unknown as { remote?: { attach?: { target?: unknown } } }).remote?.attach?.target;
    return isComposite(target, txnTypes.coordinator);
  }

  isCoordinator(r: Receiver): boolean {
    return this.coordinators.has(r);
  }

  /** Answers the attach with a coordinator offering local transactions, and grants credit for control messages. */
  attach(r: Receiver, credit: number): void {
    this.coordinators.add(r);
    const local = (r as unknown as { local: { attach: { target?: unknown } } }).local.attach;
    local.target = (txnTypes.coordinator as NonNullable<typeof txnTypes.coordinator>)
      .create({ capabilities: [LOCAL_TRANSACTIONS] })
      .described();
    r.add_credit(credit);
  }

  private txns(conn: Connection): Map<string, Open> {
    let m = this.open.get(conn);
    if (!m) this.open.set(conn, (m = new Map()));
    return m;
  }

  private find(conn: Connection, id: unknown): Open {
    const key = Buffer.isBuffer(id) ? id.toString('hex') : '';
    const open = this.open.get(conn)?.get(key);
    if (!open) throw new TransactionError('amqp:transaction:unknown-id', `No transaction ${key || '(none)'} is open on this connection`);
    return open;
  }

  /** A declare or discharge on a coordinator link; settles `delivery` with the answer. */
  async control(conn: Connection, r: Receiver, delivery: AmqpDelivery, m: AmqpMessage, ctx: ClientContext): Promise<void> {
    const body = controlBody(m);
    if (isComposite(body, txnTypes.declare)) {
      // A '*' field comes as rhea's typed value: an absent global-id is a typed null.
      const globalId = (body.global_id as { value?: unknown } | null | undefined)?.value;
      if (globalId !== undefined && globalId !== null) {
        delivery.update(true, rejected({ condition: 'amqp:not-implemented', description: 'Only local transactions are supported' }));
        return;
      }
      const id = randomBytes(8);
      this.txns(conn).set(id.toString('hex'), { tx: new Transaction(this.limits), coordinator: r, deliveries: [] });
      const declared = (txnTypes.declared as NonNullable<typeof txnTypes.declared>).create({ txn_id: id });
      delivery.update(true, declared.described());
      return;
    }
    if (isComposite(body, txnTypes.discharge)) {
      let open: Open;
      try {
        open = this.find(conn, body.txn_id);
      } catch (err) {
        delivery.update(true, rejected({ condition: (err as TransactionError).condition, description: (err as Error).message }));
        return;
      }
      this.open.get(conn)?.delete((body.txn_id as Buffer).toString('hex'));
      if (body.fail === true) {
        this.end(open, false);
        delivery.update(true, accepted());
        return;
      }
      try {
        await this.broker.commit(open.tx, ctx);
        this.end(open, true);
        delivery.update(true, accepted());
      } catch (err) {
        this.end(open, false);
        this.log.info({ err: (err as Error).message }, 'amqp transaction rolled back: its commit failed');
        delivery.update(
          true,
          rejected({ condition: 'amqp:transaction:rollback', description: `The transaction was rolled back: ${(err as Error).message}` }),
        );
      }
      return;
    }
    delivery.update(true, rejected({ condition: 'amqp:decode-error', description: 'A coordinator link takes only declare and discharge' }));
  }

  private end(open: Open, committed: boolean): void {
    if (!committed) open.tx.rollback();
    for (const d of open.deliveries) if (!d.settled) d.update(true);
  }

  /** The transaction a transfer or disposition names in its transactional-state, if it has one. */
  static stateOf(state: unknown): { txnId: unknown; outcome: unknown } | undefined {
    if (!isComposite(state, txnTypes.transactionalState)) return undefined;
    return { txnId: state.txn_id, outcome: state.outcome };
  }

  /** A transactional transfer from the client: the message waits in its transaction; the answer is transactional accepted. */
  enlistSend(conn: Connection, delivery: AmqpDelivery, txnId: unknown, input: MessageInput): void {
    const open = this.find(conn, txnId);
    open.tx.send(input);
    const state = (txnTypes.transactionalState as NonNullable<typeof txnTypes.transactionalState>).create({
      txn_id: txnId,
      outcome: accepted(),
    });
    // Settled or not as the link's receiver settle mode says (rhea decides when given undefined; its typings say boolean).
    (delivery as unknown as { update(settled: boolean | undefined, state: unknown): void }).update(undefined, state.described());
  }

  /**
   * The client settled a delivery inside a transaction: accepted acknowledges it at the commit,
   * any other outcome (`settle`) is applied after the commit.
   */
  enlistOutcome(conn: Connection, delivery: AmqpDelivery, txnId: unknown, consumer: Consumer, tag: number, settle?: () => void): void {
    const open = this.find(conn, txnId);
    if (settle) open.tx.defer(consumer, tag, settle);
    else open.tx.ack(consumer, tag);
    open.deliveries.push(delivery);
  }

  /** The coordinator link closed: the transactions it declared roll back. */
  coordinatorClosed(conn: Connection, r: Receiver): void {
    const txns = this.open.get(conn);
    if (!txns) return;
    for (const [id, open] of [...txns]) {
      if (open.coordinator !== r) continue;
      txns.delete(id);
      this.end(open, false);
    }
  }

  /** The connection ended: every transaction still open rolls back. */
  connectionClosed(conn: Connection): void {
    const txns = this.open.get(conn);
    if (!txns) return;
    this.open.delete(conn);
    for (const open of txns.values()) open.tx.rollback();
  }
}
