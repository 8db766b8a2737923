// One delivery stream at work on the active broker: a consumer of its buffer (the stream's queue,
// or its topic rule's durable subscription) whose deliveries stay unacknowledged while they fill a
// batch, so the buffer lives in the store, not here. A batch is sealed by Firehose's hints (size,
// interval, whichever first; interval 0 at the end of the turn) or by the window, named in the
// journal, written as one object, and only then acknowledged: a takeover redelivers the batch in
// flight, and the journal says whether its object is already there (delivery-journal.ts). A
// failing destination is retried with backoff; once the retry duration has passed, the batch goes
// to the error prefix instead (still retried until written).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Broker } from '../core/broker.ts';
import type { Consumer, Delivery } from '../core/consumer.ts';
import type { Streams } from '../streams/streams.ts';
import { Batch, encodeErrorObject, encodeObject } from './batch.ts';
import { DeliveryJournal } from './delivery-journal.ts';
import { bufferQueue, type DeliveryStreamRecord } from './delivery-stream.ts';
import { recordsOf } from './record-frames.ts';
import { defaultErrorPrefix, objectKey, parsePrefix } from './object-keys.ts';
import type { ObjectStore } from './object-stores.ts';

export const FIREHOSE_CLIENT_ID = 'firehose';

/** The named consumer a delivery stream reads its source stream as. */
export function kinesisConsumerName(deliveryStream: string): string {
  return `firehose:${deliveryStream}`;
}
const FIRST_RETRY_MS = 200;
const MAX_RETRY_MS = 5000;
const FAILURE_LOG_EVERY_MS = 60_000;

export interface WorkerSettings {
  /** Buffered messages one stream holds unacknowledged (its consumer's credit); a batch seals at half. */
  maxMessagesInFlight: number;
  /** Bytes of those messages it holds at most: past it, it takes no more until a batch is written. */
  maxBytesInFlight: number;
  retryDurationMs: number;
  /** Most messages a topic rule's subscription holds before its publishers are held back. */
  maxBufferedMessages: number;
}

export interface WorkerHost {
  readonly broker: Broker;
  /** The broker's streams, for a stream whose source is one (KinesisStreamAsSource). */
  readonly streams: Streams | undefined;
  readonly objects: ObjectStore;
  readonly log: Logger;
  readonly settings: WorkerSettings;
  arn(stream: string): string;
}

/** What /metrics, the admin API and the console show of a stream since this broker took over. */
export interface DeliveryStats {
  objects: number;
  records: number;
  bytes: number;
  /** Records written to the error prefix after the retry duration. */
  errorRecords: number;
  errorObjects: number;
  /** Failed object writes (each retry counts). */
  failures: number;
  /** Records written again after a takeover whose object's presence could not be told: possible duplicates. */
  redelivered: number;
  /** Records a takeover redelivered that were already in an object: acknowledged, not written again. */
  skipped: number;
  lastDeliveryAt: number | undefined;
  /** Age of the oldest record of the last object when it became visible. */
  lastFreshnessMs: number | undefined;
  failingSince: number | undefined;
  lastError: string | undefined;
  /** Records held in the batch being filled and those sealed, waiting or being written. */
  inFlightRecords: number;
  inFlightBytes: number;
  oldestInFlight: number | undefined;
}

export class DeliveryWorker {
  private consumer: Consumer | undefined;
  private readonly waitingForConsumer: Array<(c: Consumer) => void> = [];
  private filling: Batch | undefined;
  private readonly sealed: Batch[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pumping: Promise<void> | undefined;
  private readonly stopped = new AbortController();
  private lastFailureLog = 0;
  /** Credit held back while the bytes in memory are at their bound (granted again as batches are written). */
  private owedCredit = 0;
  readonly stats: DeliveryStats = {
    objects: 0,
    records: 0,
    bytes: 0,
    errorRecords: 0,
    errorObjects: 0,
    failures: 0,
    redelivered: 0,
    skipped: 0,
    lastDeliveryAt: undefined,
    lastFreshnessMs: undefined,
    failingSince: undefined,
    lastError: undefined,
    inFlightRecords: 0,
    inFlightBytes: 0,
    oldestInFlight: undefined,
  };

  private readonly journal: DeliveryJournal;

  constructor(
    private readonly host: WorkerHost,
    private record: DeliveryStreamRecord,
  ) {
    this.journal = new DeliveryJournal(host.broker, host.objects, record.name, host.log);
  }

  /** A destination update applies from the next batch. */
  update(record: DeliveryStreamRecord): void {
    this.record = record;
  }

  async start(): Promise<void> {
    const r = this.record;
    const { broker, settings } = this.host;
    const ctx = { connectionId: `firehose:${r.name}`, clientId: FIREHOSE_CLIENT_ID };
    await this.journal.recover();
    const onMessage = (d: Delivery): void => this.add(d);
    // Explicit credit: each message written gives its credit back, unless the bytes held are at their bound.
    const credit = { creditMode: 'explicit' as const, prefetch: settings.maxMessagesInFlight };
    if (r.source.kind === 'kinesis') {
      if (!this.host.streams) throw new Error(`delivery stream ${r.name} reads stream ${r.source.stream}, and this broker has no streams`);
      // A named consumer of the stream: what a batch acknowledges is its position, kept for the next active broker.
      this.consumer = await this.host.streams.subscribe(
        r.source.stream,
        { offset: { kind: 'next' }, consumerName: kinesisConsumerName(r.name), ...credit, onMessage },
        ctx,
      );
    } else if (r.source.kind === 'topic') {
      this.consumer = await broker.subscribe(
        {
          destination: { kind: 'topic', name: r.source.topic },
          durable: { clientId: FIREHOSE_CLIENT_ID, name: r.name },
          ...credit,
          // Full, it holds the topic's publishers back; never declared a slow consumer (that would drop records).
          limits: {
            maxMessages: settings.maxBufferedMessages,
            overflow: 'block',
            slowConsumerHoldMs: 0,
            pageWindowBytes: settings.maxBytesInFlight,
          },
          onMessage,
        },
        ctx,
      );
    } else {
      this.consumer = await broker.subscribe({ destination: { kind: 'queue', name: bufferQueue(r.name) }, ...credit, onMessage }, ctx);
    }
    for (const f of this.waitingForConsumer.splice(0)) f(this.consumer);
  }

  /** Runs `f` with the consumer: now, or once subscribing has answered (the first deliveries come before). */
  private withConsumer(f: (c: Consumer) => void): void {
    if (this.consumer) f(this.consumer);
    else this.waitingForConsumer.push(f);
  }

  /** Stops: what is not written stays unacknowledged in the store for the next active broker. */
  async stop(): Promise<void> {
    this.stopped.abort();
    if (this.timer) clearTimeout(this.timer);
    this.consumer?.close();
    await this.pumping;
  }

  private add(d: Delivery): void {
    const seen = this.journal.classify(d.message.id);
    if (seen === 'written') {
      this.stats.skipped += recordsOf(d.message).length;
      this.withConsumer((c) => {
        if (!c.holds(d.tag)) return;
        c.ack(d.tag);
        c.addCredit(1);
      });
      return;
    }
    if (seen === 'uncertain') this.stats.redelivered += recordsOf(d.message).length;
    const dest = this.record.destination;
    let b = this.filling;
    if (!b) {
      b = this.filling = new Batch(Buffer.byteLength(dest.delimiter));
      const ms = dest.bufferingIntervalSeconds * 1000;
      if (ms === 0) setImmediate(() => this.seal(b));
      else this.timer = setTimeout(() => this.seal(b), ms);
    }
    this.stats.inFlightRecords += b.add(d);
    this.stats.inFlightBytes += d.message.body.byteLength;
    if (this.stats.inFlightBytes >= this.host.settings.maxBytesInFlight)
      this.withConsumer((c) => {
        if (this.stats.inFlightBytes >= this.host.settings.maxBytesInFlight) this.owedCredit += c.withdrawCredit();
      });
    if (this.stats.oldestInFlight === undefined || d.message.timestamp < this.stats.oldestInFlight)
      this.stats.oldestInFlight = d.message.timestamp;
    if (b.bytes >= dest.bufferingSizeMiB * 1024 * 1024 || b.tags.length >= Math.max(1, this.host.settings.maxMessagesInFlight >> 1))
      this.seal(b);
  }

  private seal(b: Batch | undefined): void {
    if (!b || this.filling !== b) return;
    this.filling = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.sealed.push(b);
    this.pumping ??= this.pump().finally(() => (this.pumping = undefined));
  }

  private async pump(): Promise<void> {
    for (let b = this.sealed.shift(); b && !this.stopped.signal.aborted; b = this.sealed.shift()) {
      await this.deliver(b);
    }
  }

  private async deliver(b: Batch): Promise<void> {
    const dest = this.record.destination;
    const gz = dest.compression === 'GZIP';
    const stream = this.record.name;
    let attempts = 0;
    let backoff = FIRST_RETRY_MS;
    let failingSince: number | undefined;
    let lastError = '';
    const body = await encodeObject(b, dest.delimiter, gz);
    const key = objectKey(parsePrefix(dest.prefix, false), {
      stream,
      version: this.record.version,
      oldest: b.oldest,
      extension: dest.fileExtension ?? (gz ? '.gz' : ''),
    });
    while (!this.stopped.signal.aborted) {
      const toErrors = failingSince !== undefined && Date.now() - failingSince >= this.host.settings.retryDurationMs;
      attempts++;
      try {
        if (toErrors) {
          const errorPrefix = dest.errorOutputPrefix !== '' ? dest.errorOutputPrefix : defaultErrorPrefix(dest.prefix);
          const errorKey = objectKey(parsePrefix(errorPrefix, true), {
            stream,
            version: this.record.version,
            oldest: b.oldest,
            extension: dest.fileExtension ?? (gz ? '.gz' : ''),
            errorOutputType: 'delivery-failed',
          });
          const errors = await encodeErrorObject(
            b,
            { streamArn: this.host.arn(stream), errorCode: 'S3.DeliveryFailed', errorMessage: lastError, attempts, now: Date.now() },
            gz,
          );
          await this.journal.writing(dest.bucket, errorKey, b.ids);
          await this.host.objects.put(dest.bucket, errorKey, errors, 'application/x-ndjson');
          this.stats.errorObjects++;
          this.stats.errorRecords += b.size;
          this.host.log.error(
            { stream, records: b.size, bucket: dest.bucket, key: errorKey, failingForMs: Date.now() - (failingSince ?? 0) },
            'delivery stream gave up on its destination after the retry duration: the records went to the error prefix',
          );
        } else {
          await this.journal.writing(dest.bucket, key, b.ids);
          await this.host.objects.put(dest.bucket, key, body, gz ? 'application/gzip' : 'application/octet-stream');
          this.stats.objects++;
          this.stats.records += b.size;
          this.stats.bytes += body.length;
          this.stats.lastFreshnessMs = Date.now() - b.oldest;
          if (failingSince !== undefined) this.host.log.info({ stream, bucket: dest.bucket, attempts }, 'delivery stream delivers again');
        }
        this.stats.lastDeliveryAt = Date.now();
        this.stats.failingSince = undefined;
        this.journal.settled();
        this.settle(b);
        return;
      } catch (err) {
        failingSince ??= Date.now();
        lastError = err instanceof Error ? err.message : String(err);
        this.stats.failures++;
        this.stats.failingSince = failingSince;
        this.stats.lastError = lastError;
        if (Date.now() - this.lastFailureLog >= FAILURE_LOG_EVERY_MS || attempts === 1) {
          this.lastFailureLog = Date.now();
          this.host.log.warn(
            { err, stream, bucket: dest.bucket, attempts, records: b.size, store: this.host.objects.description },
            'delivery stream could not write its object: retrying',
          );
        }
        await sleep(backoff, undefined, { signal: this.stopped.signal }).catch(() => {}); // a stop ends the wait
        backoff = Math.min(backoff * 2, MAX_RETRY_MS);
      }
    }
  }

  private settle(b: Batch): void {
    const c = this.consumer;
    for (const tag of b.tags) if (c?.holds(tag)) c.ack(tag);
    this.stats.inFlightRecords -= b.size;
    this.stats.inFlightBytes -= b.messageBytes;
    this.owedCredit += b.tags.length;
    if (this.stats.inFlightBytes < this.host.settings.maxBytesInFlight) {
      c?.addCredit(this.owedCredit);
      this.owedCredit = 0;
    }
    const rest = [this.filling, ...this.sealed].filter((x): x is Batch => x !== undefined);
    this.stats.oldestInFlight = rest.length === 0 ? undefined : Math.min(...rest.map((x) => x.oldest));
  }
}
