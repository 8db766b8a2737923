// What an active broker runs, built afresh each time this process takes the lease: a store handle
// for the lease's epoch, the core rebuilt from the store (in-flight deliveries of the broker before
// become deliverable again), the protocol handlers and their listeners. Closing it gracefully lets
// pending writes finish; closing it fenced drops every connection at once (its writes are refused
// by then anyway).
import type { Logger } from 'pino';
import type { CoreConfig } from './config/schema.ts';
import { Broker } from './core/broker.ts';
import { DeliveryStreams } from './firehose/delivery-streams.ts';
import { StreamRuleWorker } from './streams/stream-rules.ts';
import { Streams } from './streams/streams.ts';
import { MemoryGuard, parseWatermark } from './core/memory-guard.ts';
import { PolicyResolver, DEFAULT_POLICY, type PolicySettings } from './core/policy.ts';
import type { Deactivation } from './ha/role-keeper.ts';
import type { ProtocolHandler } from './net/connection.ts';
import { Listeners } from './net/listeners.ts';
import type { SecurityService } from './security/security-service.ts';
import type { Store } from './store/store.ts';

export interface ActiveBrokerOptions {
  config: CoreConfig;
  store: Store;
  security: SecurityService;
  log: Logger;
  /** The protocol handlers for this broker (the composition root knows the adapters). */
  handlers(broker: Broker, deliveryStreams: DeliveryStreams, streams: Streams): readonly ProtocolHandler[];
  /** How the AWS door names a delivery stream (its ARN, with the configured region and account). */
  deliveryStreamArn?: (stream: string) => string;
  /** A topic rule's MQTT topic filter as a topic pattern (the MQTT adapter's mapping). */
  mqttFilterToPattern?: (filter: string) => string;
  /** A store write failed for good (FencedError among others). */
  onStoreError(err: unknown): void;
}

export class ActiveBroker {
  private closing: Promise<void> | undefined;

  /** The protocols its handlers speak. */
  get protocols(): string[] {
    return this.handlers.map((h) => h.protocol);
  }

  private constructor(
    readonly broker: Broker,
    readonly deliveryStreams: DeliveryStreams,
    readonly streams: Streams,
    private readonly rules: readonly StreamRuleWorker[],
    readonly listeners: Listeners,
    private readonly handlers: readonly ProtocolHandler[],
    private readonly log: Logger,
  ) {}

  static async open(opts: ActiveBrokerOptions): Promise<ActiveBroker> {
    const { config, log } = opts;
    const d = config.destinations;
    const broker = new Broker({
      store: opts.store,
      log,
      authorizer: opts.security,
      policies: new PolicyResolver({ ...DEFAULT_POLICY, ...(d.defaults as Partial<PolicySettings>) }, d.policies),
      autoCreate: d.autoCreate,
      queues: d.queues,
      virtualTopics: d.virtualTopics,
      expirySweepMs: d.expirySweepMs,
      dedupMaxEntries: d.dedupMaxEntries,
      memory: memoryGuard(config, log),
      onStoreError: opts.onStoreError,
    });
    try {
      await broker.start();
      // Users and rights an operator set through the admin API, before any client signs in; none stored: the configuration's.
      opts.security.replace(await broker.loadSecurity());
    } catch (err) {
      await broker.close().catch(() => {});
      throw err;
    }
    const streams = new Streams({ store: opts.store.streams, log, settings: config.streams, authorizer: opts.security });
    const deliveryStreams = new DeliveryStreams({
      broker,
      streams,
      log,
      settings: config.firehose,
      ...(opts.deliveryStreamArn ? { arn: opts.deliveryStreamArn } : {}),
      ...(opts.mqttFilterToPattern ? { mqttFilterToPattern: opts.mqttFilterToPattern } : {}),
    });
    const rules: StreamRuleWorker[] = [];
    const handlers = opts.handlers(broker, deliveryStreams, streams);
    try {
      // Streams first (a delivery stream may read one), then delivery streams: SNS subscriptions put to them as soon as the AWS adapter starts.
      await streams.start();
      await deliveryStreams.start();
      for (const rule of config.streams.rules) {
        const w = new StreamRuleWorker(
          { broker, streams, log, ...(opts.mqttFilterToPattern ? { mqttFilterToPattern: opts.mqttFilterToPattern } : {}) },
          rule,
        );
        rules.push(w);
        await w.start();
      }
      for (const h of handlers) await h.start?.();
      return new ActiveBroker(broker, deliveryStreams, streams, rules, await Listeners.open(config, handlers, log), handlers, log);
    } catch (err) {
      await closeHandlers(handlers, log);
      for (const w of rules) await w.stop().catch(() => {});
      await deliveryStreams.close().catch(() => {});
      streams.close();
      await broker.close().catch(() => {});
      throw err;
    }
  }

  /** Stops accepting, drops connections, then closes the core (after its pending writes when graceful). */
  close(how: Deactivation): Promise<void> {
    this.closing ??= (async () => {
      // Publishes held by the memory alarm (an MQTT will at a disconnect, say) must not hold up the close.
      this.broker.memory?.stop();
      await Promise.all(
        this.handlers.map((h) =>
          h.goodbye?.().catch((err: unknown) => this.log.warn({ err, protocol: h.protocol }, 'protocol adapter goodbye failed')),
        ),
      );
      await this.listeners.close();
      await closeHandlers(this.handlers, this.log);
      for (const w of this.rules) await w.stop();
      await this.deliveryStreams.close();
      this.streams.close();
      await this.broker.close();
      this.log.info({ how }, how === 'fenced' ? 'fenced: listeners and connections closed' : 'listeners and connections closed');
    })();
    return this.closing;
  }
}

async function closeHandlers(handlers: readonly ProtocolHandler[], log: Logger): Promise<void> {
  for (const h of handlers) {
    try {
      await h.close?.();
    } catch (err) {
      log.warn({ err, protocol: h.protocol }, 'protocol adapter did not close cleanly');
    }
  }
}

/** The memory guard the limits ask for. */
function memoryGuard(config: CoreConfig, log: Logger): MemoryGuard {
  const guard = new MemoryGuard(parseWatermark(config.limits.memoryHighWatermark), log);
  guard.publishTimeoutMs = config.limits.memoryAlarmPublishTimeoutMs;
  return guard;
}
