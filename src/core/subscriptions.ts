// The broker's topic subscriptions. Each is a queue the router feeds with the messages of its topic
// pattern: transient ones live with their consumer; durable ones (a client id and a name) and
// durable shared ones are kept in the store and survive disconnects and restarts; shared ones let
// several consumers compete. This file names them, opens, reuses and closes them, and settles what
// happens when a subscriber comes back with another topic or selector.
import { flat } from '../shared/ids.ts';
import { randomUUID } from 'node:crypto';
import { NotFoundError, SubscriptionConflictError } from '../shared/errors.ts';
import type { SubscriptionLimits, SubscriptionReader, SubscriptionRecord } from '../store/store.ts';
import type { Consumer, ConsumerOptions } from './consumer.ts';
import type { Destination } from './destination.ts';
import type { ClientContext } from './principal.ts';
import type { Queue, QueueInit } from './queue.ts';
import type { Route, Router } from './router.ts';
import { applyLimits, sameLimits } from './policy.ts';
import { compileOptionalSelector, CONVERT_STRING_EXPRESSIONS } from './selector/index.ts';
import type { StoreWriter } from './store-writer.ts';

/** Every subscription queue's name starts with this. */
export const SUB_PREFIX = 'sub:';

export interface SubscribeRequest extends Omit<ConsumerOptions, 'selector' | 'connectionId'> {
  /** A queue, or a topic pattern (`*` and `>` allowed). */
  destination: Destination;
  selector?: string;
  /** Topics: skip messages published by the same client id (or connection). */
  noLocal?: boolean;
  /** Topics: a durable subscription, kept while nobody is attached. */
  durable?: { clientId: string; name: string };
  /** Topics: a shared subscription whose consumers compete; durable keeps it with no consumers. */
  shared?: { name: string; durable: boolean };
  /** Limits for the subscription's queue, overriding the policy; kept with a durable subscription. */
  limits?: SubscriptionLimits;
}

/** What subscriptions need from the broker. */
export interface SubscriptionHost {
  readonly router: Router;
  readonly writer: StoreWriter;
  now(): number;
  /** A new queue under the broker's policies, registered under its name. */
  openQueue(
    init: Pick<QueueInit, 'name' | 'label' | 'durable' | 'subscription' | 'onIdle'>,
    dlqLabel: string,
    limits?: SubscriptionLimits,
  ): Queue;
  /** Closes a queue, forgets it and deletes a durable one from the store. */
  dropQueue(q: Queue, reason: string): void;
  /** The topics a reader allowed only part of its pattern may read (the authorizer's). */
  mayRead?(reader: SubscriptionReader): (topic: string) => boolean;
}

interface Subscription {
  record: SubscriptionRecord;
  queue: Queue;
  route: Route;
  durable: boolean;
}

export class Subscriptions {
  private readonly byName = new Map<string, Subscription>();

  constructor(private readonly host: SubscriptionHost) {}

  get size(): number {
    return this.byName.size;
  }

  /**
   * Attaches a consumer to the subscription `req` describes: an existing one, or a new one. An idle
   * subscription asked for with another topic or selector is replaced; a busy one is a conflict.
   * `reader`: the subscriber may read only part of the pattern, and each message is checked.
   */
  attach(req: SubscribeRequest, opts: ConsumerOptions, ctx: ClientContext, reader?: SubscriptionReader): Consumer {
    const rec = this.recordFor(req, ctx);
    if (reader) rec.reader = reader;
    let sub = this.byName.get(rec.name);
    if (sub && !sameSubscription(sub.record, rec)) {
      if (sub.queue.consumerCount > 0) {
        throw new SubscriptionConflictError(
          `Subscription ${rec.subscriptionName ?? rec.name} is in use with a different topic or selector`,
          {
            subscription: rec.name,
          },
        );
      }
      this.close(sub, 'subscription changed');
      sub = undefined;
    }
    if (sub && !rec.shared && sub.queue.consumerCount > 0) {
      throw new SubscriptionConflictError(`Durable subscription ${rec.subscriptionName} of client ${rec.clientId} is already active`, {
        subscription: rec.name,
      });
    }
    if (sub && !sameLimits(sub.record.limits, rec.limits)) this.updateLimits(sub, rec.limits);
    if (sub && (sub.record.selector ?? '') !== (rec.selector ?? '')) this.updateSelector(sub, rec.selector);
    if (sub && JSON.stringify(sub.record.reader) !== JSON.stringify(rec.reader)) this.updateReader(sub, rec.reader);
    sub ??= this.open(rec, false);
    return sub.queue.attach(opts);
  }

  /** Opens a subscription read back from the store at start. */
  restore(rec: SubscriptionRecord): void {
    this.open(rec, true);
  }

  /** Removes a durable subscription (JMS unsubscribe); refused while a consumer is attached. */
  unsubscribeDurable(clientId: string, name: string): void {
    this.remove(durableSubscriptionQueue(clientId, name), name);
  }

  /** Removes a shared subscription and its queued messages; refused while consumers are attached. */
  unsubscribeShared(name: string, durable: boolean): void {
    this.remove(`${SUB_PREFIX}${durable ? 'sd' : 's'}:${esc(name)}`, name);
  }

  list(): SubscriptionRecord[] {
    return [...this.byName.values()].map((s) => ({ ...s.record }));
  }

  // Records are built with Object.assign, not spreads: once optimized, V8 gives every object a
  // spread builds a hidden class of its own (hundreds of bytes per subscription of an idle fleet).
  private recordFor(req: SubscribeRequest, ctx: ClientContext): SubscriptionRecord {
    const base = { pattern: req.destination.name, createdAt: this.host.now() };
    const extra: Partial<SubscriptionRecord> = {};
    if (req.limits) extra.limits = Object.assign({}, req.limits);
    if (req.selector !== undefined && req.selector.trim() !== '') extra.selector = req.selector;
    if (req.noLocal) extra.noLocal = true;
    if (req.shared) {
      const kind = req.shared.durable ? 'sd' : 's';
      return Object.assign(base, extra, {
        name: `${SUB_PREFIX}${kind}:${esc(req.shared.name)}`,
        subscriptionName: req.shared.name,
        shared: true,
      });
    }
    if (req.durable) {
      const { clientId, name } = req.durable;
      return Object.assign(base, extra, {
        name: durableSubscriptionQueue(clientId, name),
        clientId,
        subscriptionName: name,
        shared: false,
      });
    }
    const rec: SubscriptionRecord = Object.assign(base, extra, { name: flat(`${SUB_PREFIX}t:${randomUUID()}`), shared: false });
    if (req.noLocal) rec.clientId = ctx.clientId ?? ctx.connectionId;
    return rec;
  }

  private open(rec: SubscriptionRecord, recovered: boolean): Subscription {
    const durable = rec.name.startsWith(`${SUB_PREFIX}d:`) || rec.name.startsWith(`${SUB_PREFIX}sd:`);
    const onIdle = (q: Queue): void => {
      const s = this.byName.get(q.name);
      if (s) this.close(s, 'last consumer left');
    };
    const queue = this.host.openQueue(
      { name: rec.name, label: `topic://${rec.pattern}`, durable, subscription: true, onIdle: durable ? undefined : onIdle },
      rec.pattern,
      rec.limits,
    );
    const route: Route = {
      queue,
      pattern: rec.pattern,
      selector: compileOptionalSelector(rec.selector),
      noLocalKey: rec.noLocal ? rec.clientId : undefined,
      mayRead: rec.reader ? this.readCheck(rec.reader) : undefined,
    };
    const sub: Subscription = { record: rec, queue, route, durable };
    this.byName.set(rec.name, sub);
    this.host.router.add(route);
    if (durable && !recovered) {
      this.host.writer.write(
        { type: 'declareQueue', queue: { name: rec.name, createdAt: rec.createdAt } },
        { type: 'putSubscription', subscription: rec },
      );
    }
    return sub;
  }

  /** The subscriber now asks for other limits (or a stored subscription predates them): they apply from now on. */
  private updateLimits(sub: Subscription, limits: SubscriptionLimits | undefined): void {
    if (limits) sub.record.limits = { ...limits };
    else delete sub.record.limits;
    applyLimits(sub.queue.policy, limits);
    if (sub.durable) this.host.writer.write({ type: 'putSubscription', subscription: sub.record });
  }

  /**
   * The same selector, now with or without the string-conversion prefix (a subscription stored
   * before STOMP selectors carried it): the subscription and its backlog stay, the new text applies.
   */
  private updateSelector(sub: Subscription, selector: string | undefined): void {
    if (selector !== undefined) sub.record.selector = selector;
    else delete sub.record.selector;
    this.host.router.remove(sub.route);
    sub.route = { ...sub.route, selector: compileOptionalSelector(selector) };
    this.host.router.add(sub.route);
    if (sub.durable) this.host.writer.write({ type: 'putSubscription', subscription: sub.record });
  }

  /** The subscriber now reads with other rights (all of the pattern, or another part): they apply from now on. */
  private updateReader(sub: Subscription, reader: SubscriptionReader | undefined): void {
    if (reader) sub.record.reader = reader;
    else delete sub.record.reader;
    this.host.router.remove(sub.route);
    sub.route = { ...sub.route, mayRead: reader ? this.readCheck(reader) : undefined };
    this.host.router.add(sub.route);
    if (sub.durable) this.host.writer.write({ type: 'putSubscription', subscription: sub.record });
  }

  /** Without an authorizer to ask, a partial reader reads nothing (never more than it may). */
  private readCheck(reader: SubscriptionReader): (topic: string) => boolean {
    return this.host.mayRead?.(reader) ?? (() => false);
  }

  private close(sub: Subscription, reason: string): void {
    this.host.router.remove(sub.route);
    this.byName.delete(sub.record.name);
    this.host.dropQueue(sub.queue, reason);
    if (sub.durable) this.host.writer.write({ type: 'deleteSubscription', name: sub.record.name });
  }

  private remove(key: string, name: string): void {
    const sub = this.byName.get(key);
    if (!sub) throw new NotFoundError(`No subscription named ${name}`, { subscription: name });
    if (sub.queue.consumerCount > 0) {
      throw new SubscriptionConflictError(`Subscription ${name} still has consumers attached`, { subscription: name });
    }
    this.close(sub, 'unsubscribed');
  }
}

/** The queue a durable subscription keeps its messages in. */
export function durableSubscriptionQueue(clientId: string, name: string): string {
  return `${SUB_PREFIX}d:${esc(clientId)}:${esc(name)}`;
}

function esc(s: string): string {
  return s.replace(/%/g, '%25').replace(/:/g, '%3A');
}

function sameSubscription(a: SubscriptionRecord, b: SubscriptionRecord): boolean {
  return a.pattern === b.pattern && selectorBody(a.selector) === selectorBody(b.selector) && (a.noLocal ?? false) === (b.noLocal ?? false);
}

/** A selector without ActiveMQ's string-conversion prefix. */
function selectorBody(s: string | undefined): string {
  const t = s ?? '';
  return t.startsWith(CONVERT_STRING_EXPRESSIONS) ? t.slice(CONVERT_STRING_EXPRESSIONS.length) : t;
}
