// `/metrics` in the Prometheus text format (prom-client, a registry of its own). Figures are read
// from the broker when scraped, so the message path pays nothing for them but the per-connection
// counts it keeps anyway; only store batch times are observed as they happen. Names follow Amazon
// MQ's CloudWatch metrics where one exists (QueueSize, EnqueueCount, DequeueCount, InFlightCount,
// ConsumerCount, ProducerCount, ExpiredCount). Per-destination series are capped to the largest
// `destinationLimit` queues by depth, so 100,000 MQTT session queues cannot explode cardinality.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Broker } from '../core/broker.ts';
import type { QueueInfo } from '../core/broker.ts';
import type { DeliveryStreams } from '../firehose/delivery-streams.ts';
import type { Streams } from '../streams/streams.ts';
import { streamMetrics } from './streams-metrics.ts';
import { deliveryStreamMetrics } from './firehose-metrics.ts';

export interface MetricsSource {
  /** The active broker's core; undefined on a standby. */
  activeBroker(): Broker | undefined;
  health(): { role: string; epoch: number };
  /** The protocols the broker speaks (each gets a connections series, 0 when none is open). */
  protocols?(): readonly string[];
  /** The security audit's counts. */
  readonly security?: {
    readonly audit: {
      readonly loginFailures: ReadonlyMap<string, number>;
      readonly refusals: ReadonlyMap<string, number>;
      readonly throttledLogins: number;
      readonly adminChanges: number;
    };
  };
  /** Event-loop stalls logged so far. */
  eventLoopStalls?(): number;
  /** Sealed values in the store that did not open (security.encryption), by kind. */
  sealedRefused?(): ReadonlyMap<string, number>;
  /** Times the store lost the cluster's data, and the stored messages lost with it. */
  dataLost?(): { events: number; messages: number };
  /** The active broker's delivery streams. */
  activeDeliveryStreams?(): DeliveryStreams | undefined;
  /** The active broker's streams. */
  activeStreams?(): Streams | undefined;
}

const RTT_EVERY_MS = 5000;

/** A counter whose value is read at scrape time (prom-client counters only go up by `inc`). */
function readCounter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => Array<[Record<string, string>, number]>,
): Counter {
  return new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, v] of read()) if (v > 0) this.inc(labels, v);
    },
  });
}

export class BrokerMetrics {
  readonly registry = new Registry();
  private readonly batch: Histogram;
  private readonly rtt: Histogram;
  private rttTimer: NodeJS.Timeout | undefined;
  private observed: Broker | undefined;

  constructor(
    private readonly source: MetricsSource,
    private readonly destinationLimit: number,
  ) {
    const r = this.registry;
    collectDefaultMetrics({ register: r });
    const broker = (): Broker | undefined => source.activeBroker();
    const queues = (): QueueInfo[] => broker()?.listQueues() ?? [];
    deliveryStreamMetrics(r, () => source.activeDeliveryStreams?.());
    streamMetrics(r, () => source.activeStreams?.());

    new Gauge({
      name: 'junction_connections',
      help: 'Open client connections, by protocol',
      labelNames: ['protocol'],
      registers: [r],
      collect() {
        this.reset();
        const counts = new Map((source.protocols?.() ?? []).map((p) => [p, 0]));
        for (const c of broker()?.connections.list() ?? []) counts.set(c.protocol, (counts.get(c.protocol) ?? 0) + 1);
        for (const [protocol, n] of counts) this.set({ protocol }, n);
      },
    });
    const totals = (dir: 'in' | 'out') => (): Array<[Record<string, string>, number]> =>
      [...(broker()?.connections.totals ?? new Map<string, { in: number; out: number }>())].map(([protocol, t]) => [{ protocol }, t[dir]]);
    readCounter(r, 'junction_messages_in_total', 'Messages received from clients, by protocol', ['protocol'], totals('in'));
    readCounter(r, 'junction_messages_out_total', 'Messages delivered to clients, by protocol', ['protocol'], totals('out'));
    /** A map keyed by space-separated label values, as labelled series. */
    const byKey =
      (labels: readonly string[], read: () => ReadonlyMap<string, number> | undefined) => (): Array<[Record<string, string>, number]> =>
        [...(read() ?? [])].map(([k, n]) => {
          const values = k.split(' ');
          return [Object.fromEntries(labels.map((l, i) => [l, values[i] ?? ''])), n];
        });
    const requestLabels = ['service', 'operation'];
    const help = 'by service and operation';
    readCounter(
      r,
      'junction_requests_total',
      `Requests answered by request/response APIs (SQS, SNS), ${help}`,
      requestLabels,
      byKey(requestLabels, () => broker()?.connections.requests),
    );
    const errorLabels = [...requestLabels, 'code'];
    readCounter(
      r,
      'junction_request_errors_total',
      `Requests of those APIs answered with an error, ${help}, and error code`,
      errorLabels,
      byKey(errorLabels, () => broker()?.connections.requestErrors),
    );
    const eventLabels = ['service', 'event'];
    readCounter(
      r,
      'junction_protocol_events_total',
      'What adapters count besides requests (SNS deliveries: delivered, filtered, failed, dead-lettered, dropped), by service and event',
      eventLabels,
      byKey(eventLabels, () => broker()?.connections.events),
    );
    new Gauge({
      name: 'junction_requests_waiting',
      help: 'Requests held open waiting for messages (SQS long polls), by service',
      labelNames: ['service'],
      registers: [r],
      collect() {
        this.reset();
        for (const [service, n] of broker()?.connections.waiting ?? new Map<string, number>()) this.set({ service }, n);
      },
    });
    const audit = source.security?.audit;
    if (audit) {
      readCounter(r, 'junction_login_failures_total', 'Failed logins, by protocol (admin for the admin port)', ['protocol'], () =>
        [...audit.loginFailures].map(([protocol, n]) => [{ protocol }, n]),
      );
      readCounter(
        r,
        'junction_logins_throttled_total',
        'Logins held back: their address spent its failure budget (security.failedLogins)',
        [],
        () => [[{}, audit.throttledLogins]],
      );
      readCounter(
        r,
        'junction_authorization_refusals_total',
        'Operations the authorization map refused, by permission',
        ['permission'],
        () => [...audit.refusals].map(([permission, n]) => [{ permission }, n]),
      );
      readCounter(r, 'junction_admin_changes_total', 'Changes made through the admin API', [], () => [[{}, audit.adminChanges]]);
    }
    if (source.sealedRefused) {
      const refused = source.sealedRefused.bind(source);
      readCounter(
        r,
        'junction_sealed_values_refused_total',
        'Values sealed at rest that did not open (altered, moved, or sealed with a key not given): not used, left in the store',
        ['kind'],
        () => [...refused()].map(([kind, n]) => [{ kind }, n]),
      );
    }
    const sum = (k: 'dropped' | 'expired' | 'deadLettered' | 'slowConsumers') => (): Array<[Record<string, string>, number]> => {
      const b = broker();
      if (!b) return [];
      let n = b.retiredStats[k];
      for (const q of b.listQueues()) n += q.stats[k];
      return [[{}, n]];
    };
    readCounter(
      r,
      'junction_messages_dropped_total',
      'Messages dropped by a configured policy (drop-oldest, no dead-letter queue)',
      [],
      sum('dropped'),
    );
    readCounter(r, 'junction_messages_expired_total', 'Messages that expired (ExpiredCount)', [], sum('expired'));
    readCounter(r, 'junction_messages_dead_lettered_total', 'Messages moved to a dead-letter queue', [], sum('deadLettered'));
    readCounter(
      r,
      'junction_event_loop_stalls_total',
      'Times the event loop stalled for 250 ms or more (each logged with its length)',
      [],
      () => [[{}, source.eventLoopStalls?.() ?? 0]],
    );
    readCounter(r, 'junction_store_data_lost_total', "Times the store was found to have lost the cluster's data", [], () => [
      [{}, source.dataLost?.().events ?? 0],
    ]);
    readCounter(r, 'junction_store_lost_messages_total', 'Stored messages lost with the data, as the broker counted them', [], () => [
      [{}, source.dataLost?.().messages ?? 0],
    ]);
    readCounter(
      r,
      'junction_slow_consumers_total',
      'Times a subscription settled nothing for slowConsumerHoldMs while publishers waited, and was declared a slow consumer',
      [],
      sum('slowConsumers'),
    );
    this.batch = new Histogram({
      name: 'junction_store_batch_seconds',
      help: 'Time a batch of store writes took, from sending to the store accepting it',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [r],
    });
    this.rtt = new Histogram({
      name: 'junction_store_roundtrip_seconds',
      help: 'Round trip of a PING to the store (Redis), every 5 s',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1],
      registers: [r],
    });
    new Gauge({
      name: 'junction_role',
      help: 'This broker is active (1) or a standby (0)',
      registers: [r],
      collect() {
        this.set(source.health().role === 'active' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'junction_epoch',
      help: 'Fencing epoch this broker serves (or last served) under',
      registers: [r],
      collect() {
        this.set(source.health().epoch);
      },
    });
    readCounter(
      r,
      'junction_deliveries_dropped_too_large_total',
      'Deliveries dropped because they were larger than the client accepts (MQTT 5 Maximum Packet Size), by protocol',
      ['protocol'],
      () => [...(broker()?.connections.tooLarge ?? new Map<string, number>())].map(([protocol, n]) => [{ protocol }, n]),
    );
    readCounter(
      r,
      'junction_memory_alarm_refused_total',
      'Publishes refused after waiting longer than limits.memoryAlarmPublishTimeoutMs under the memory alarm',
      [],
      () => [[{}, broker()?.memory?.refused ?? 0]],
    );
    new Gauge({
      name: 'junction_memory_alarm',
      help: 'Publishers are held back because memory is above limits.memoryHighWatermark (1)',
      registers: [r],
      collect() {
        this.set(broker()?.memory?.alarm ? 1 : 0);
      },
    });

    // Per destination, the largest queues first.
    let top: QueueInfo[] = [];
    const pick = (): QueueInfo[] => {
      const all = queues();
      top = all.length <= destinationLimit ? all : [...all].sort((a, b) => b.messages - a.messages).slice(0, destinationLimit);
      return top;
    };
    const perQueue = (name: string, help: string, read: (q: QueueInfo) => number, first = false) =>
      new Gauge({
        name,
        help,
        labelNames: ['destination'],
        registers: [r],
        collect() {
          this.reset();
          for (const q of first ? pick() : top) this.set({ destination: q.label }, read(q));
        },
      });
    perQueue('junction_queue_size', 'Messages held by the queue: ready, scheduled and in flight (QueueSize)', (q) => q.messages, true);
    perQueue('junction_queue_inflight', 'Messages delivered and not yet settled (InFlightCount)', (q) => q.inflight);
    perQueue('junction_queue_consumers', 'Consumers attached (ConsumerCount)', (q) => q.consumers);
    perQueue(
      'junction_queue_producers',
      'Connected producers that sent to it (ProducerCount)',
      (q) => broker()?.connections.producerCount(q.label) ?? 0,
    );
    const perQueueTotal = (name: string, help: string, read: (q: QueueInfo) => number) =>
      readCounter(r, name, help, ['destination'], () => top.map((q) => [{ destination: q.label }, read(q)]));
    perQueueTotal('junction_queue_enqueued_total', 'Messages sent to the queue (EnqueueCount)', (q) => q.stats.enqueued);
    perQueueTotal('junction_queue_dequeued_total', 'Messages acknowledged by consumers (DequeueCount)', (q) => q.stats.acked);
    new Gauge({
      name: 'junction_queues',
      help: 'Queues (subscription queues included); those beyond admin.metricsDestinations have no series of their own',
      registers: [r],
      collect() {
        this.set(queues().length);
      },
    });
  }

  start(): void {
    this.rttTimer = setInterval(() => void this.probe(), RTT_EVERY_MS);
    this.rttTimer.unref();
  }

  stop(): void {
    if (this.rttTimer) clearInterval(this.rttTimer);
    this.observed?.operations.observeStoreBatches(undefined);
  }

  /** Times a store PING, and hooks the batch timer onto a newly active broker. */
  private async probe(): Promise<void> {
    const b = this.source.activeBroker();
    if (b !== this.observed) {
      this.observed = b;
      b?.operations.observeStoreBatches((s) => this.batch.observe(s));
    }
    if (!b) return;
    const t0 = performance.now();
    try {
      await b.store.ping();
      this.rtt.observe((performance.now() - t0) / 1000);
    } catch {
      // an unavailable store shows in /health and the store-unavailable logs
    }
  }

  async text(): Promise<string> {
    await this.probe();
    return this.registry.metrics();
  }
}
