// The delivery streams of the active broker: their records in the store (made by the Firehose API,
// the admin API or the configuration file; there after a restart or a takeover), their buffers
// (a direct-put stream's queue, a topic rule's durable subscription), and one worker each that
// delivers batches to the object store. Records put to a stream are persistent messages of its
// queue: acknowledged to the producer once stored, delivered by whichever broker is active.
import type { Logger } from 'pino';
import type { Broker } from '../core/broker.ts';
import type { ClientContext } from '../core/principal.ts';
import { durableSubscriptionQueue } from '../core/subscriptions.ts';
import type { Streams } from '../streams/streams.ts';
import { JunctionError } from '../shared/errors.ts';
import { s3Credentials, type FirehoseSettings } from './config.ts';
import {
  bufferQueue,
  checkDestination,
  DeliveryStreamArgumentError,
  DeliveryStreamInUseError,
  DeliveryStreamNotFoundError,
  DeliveryStreamVersionError,
  type DeliveryStreamRecord,
  type DeliveryStreamSpec,
  type DestinationSpec,
  type StreamSource,
} from './delivery-stream.ts';
import { removeJournal } from './delivery-journal.ts';
import { DeliveryWorker, FIREHOSE_CLIENT_ID, kinesisConsumerName, type DeliveryStats, type WorkerHost } from './delivery-worker.ts';
import { DirectoryStore, S3Store, type ObjectStore } from './object-stores.ts';
import { frameRecords, RECORD_COUNT_PROPERTY } from './record-frames.ts';

const RECORD_PREFIX = 'firehose:stream:';

export interface DeliveryStreamsOptions {
  broker: Broker;
  /** The broker's streams (a delivery stream's KinesisStreamAsSource); absent, such sources are refused. */
  streams?: Streams;
  log: Logger;
  settings: FirehoseSettings;
  /** The topic pattern an MQTT topic filter reads (the MQTT adapter's mapping); absent, filters are refused. */
  mqttFilterToPattern?: (filter: string) => string;
  /** `arn:aws:firehose:<region>:<account>:deliverystream/<name>`, as the AWS door names streams. */
  arn?: (stream: string) => string;
  env?: NodeJS.ProcessEnv;
}

/** One record's fate in a put: its id, or why it was not accepted. */
export type PutOutcome = { recordId: string } | { error: JunctionError };

export interface DeliveryStreamView {
  record: DeliveryStreamRecord;
  stats: DeliveryStats | undefined;
  /** Puts waiting in the store, not yet taken by the worker (a PutRecordBatch call is one). */
  bufferedEntries: number;
  /** What the buffer holds, waiting and in batches, as its queue counts bytes (bodies plus per-message overhead, as its limits do). */
  bufferedBytes: number;
  destination: string;
}

export class DeliveryStreams {
  private readonly records = new Map<string, DeliveryStreamRecord>();
  private readonly workers = new Map<string, DeliveryWorker>();
  private readonly objects: ObjectStore;
  private readonly host: WorkerHost;
  private started = false;

  constructor(private readonly o: DeliveryStreamsOptions) {
    const s = o.settings;
    const credentials = s3Credentials(s, o.env);
    this.objects =
      !s.s3.enabled && s.s3.endpoint === undefined
        ? new DirectoryStore(s.directory)
        : new S3Store({ endpoint: s.s3.endpoint, region: s.s3.region, forcePathStyle: s.s3.forcePathStyle, credentials });
    this.host = {
      broker: o.broker,
      streams: o.streams,
      objects: this.objects,
      log: o.log,
      settings: {
        maxMessagesInFlight: s.maxMessagesInFlight,
        maxBytesInFlight: s.maxBytesInFlight,
        retryDurationMs: s.retryDurationSeconds * 1000,
        maxBufferedMessages: s.maxBufferedMessages,
      },
      arn: (name) => this.arn(name),
    };
  }

  arn(name: string): string {
    return this.o.arn?.(name) ?? `arn:aws:firehose:us-east-1:000000000000:deliverystream/${name}`;
  }

  /** Loads the stored streams, makes the configured ones, and starts delivering. */
  async start(): Promise<void> {
    for (const s of await this.o.broker.listSessions(RECORD_PREFIX)) {
      const r = s.data as unknown as DeliveryStreamRecord;
      if (typeof r.name === 'string' && typeof r.destination === 'object') this.records.set(r.name, r);
    }
    for (const configured of this.o.settings.deliveryStreams) {
      const spec = { ...configured, source: this.resolve(configured.source) };
      const existing = this.records.get(spec.name);
      if (!existing) {
        if (spec.source.kind === 'kinesis') await this.o.streams?.placeAtTip(spec.source.stream, kinesisConsumerName(spec.name));
        await this.save(this.newRecord(spec, {}, 'config'));
      } else if (
        JSON.stringify({ s: existing.source, d: existing.destination }) !== JSON.stringify({ s: spec.source, d: spec.destination })
      ) {
        let source = spec.source;
        if (JSON.stringify(existing.source) !== JSON.stringify(spec.source)) {
          const buffer = this.bufferOf(existing);
          const buffered = buffer === undefined ? 0 : (this.o.broker.getQueue(buffer)?.messages ?? 0);
          if (buffered > 0) {
            // A new source would leave what the old one buffered behind: it stays until that is delivered.
            source = existing.source;
            this.o.log.warn(
              { stream: spec.name, from: existing.source, to: spec.source, buffered },
              'delivery stream keeps its old source while it still buffers records: restart once they are delivered',
            );
          } else {
            await this.dropBuffer(existing);
          }
        }
        await this.save({ ...existing, ...spec, source, version: existing.version + 1, updatedAt: Date.now(), origin: 'config' });
      }
    }
    this.started = true;
    for (const r of this.records.values()) await this.startWorker(r);
    if (this.records.size > 0)
      this.o.log.info({ streams: [...this.records.keys()], destination: this.objects.description }, 'delivery streams delivering');
  }

  async close(): Promise<void> {
    this.started = false;
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
    this.workers.clear();
    this.objects.close();
  }

  list(): DeliveryStreamRecord[] {
    return [...this.records.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get(name: string): DeliveryStreamRecord {
    const r = this.records.get(name);
    if (!r) throw new DeliveryStreamNotFoundError(name);
    return r;
  }

  has(name: string): boolean {
    return this.records.has(name);
  }

  view(name: string): DeliveryStreamView {
    const record = this.get(name);
    const buffer = this.bufferOf(record);
    const info = buffer === undefined ? undefined : this.o.broker.getQueue(buffer);
    return {
      record,
      stats: this.workers.get(name)?.stats,
      bufferedEntries: info ? info.ready + info.paged + info.delayed : 0,
      bufferedBytes: info?.bytes ?? 0,
      destination: `${this.objects.description}, bucket ${record.destination.bucket}`,
    };
  }

  async create(requested: DeliveryStreamSpec, tags: Record<string, string> = {}): Promise<DeliveryStreamRecord> {
    checkDestination(requested.destination);
    if (this.records.has(requested.name)) throw new DeliveryStreamInUseError(requested.name, 'already exists');
    const r = this.newRecord({ ...requested, source: this.resolve(requested.source) }, tags, 'api');
    if (r.source.kind === 'kinesis') await this.o.streams?.placeAtTip(r.source.stream, kinesisConsumerName(r.name));
    await this.save(r);
    if (this.started) await this.startWorker(r);
    this.o.log.info({ stream: r.name, source: r.source, bucket: r.destination.bucket }, 'delivery stream created');
    return r;
  }

  /** Changes the destination; `expectedVersion` must be the current one. The next batch uses it. */
  async updateDestination(name: string, expectedVersion: number, change: Partial<DestinationSpec>): Promise<DeliveryStreamRecord> {
    const r = this.get(name);
    if (r.version !== expectedVersion) throw new DeliveryStreamVersionError(name, expectedVersion, r.version);
    const destination = { ...r.destination, ...change };
    checkDestination(destination);
    const next = { ...r, destination, version: r.version + 1, updatedAt: Date.now() };
    await this.save(next);
    this.workers.get(name)?.update(next);
    return next;
  }

  async setTags(name: string, tags: Record<string, string>): Promise<void> {
    const r = this.get(name);
    await this.save({ ...r, tags, updatedAt: Date.now() });
  }

  async setEncryption(name: string, on: boolean): Promise<void> {
    const r = this.get(name);
    await this.save({ ...r, encryption: on ? 'ENABLED' : 'DISABLED', updatedAt: Date.now() });
  }

  /**
   * Deletes the stream; what it still buffers is discarded (as Firehose does), counted and logged:
   * the answer is the buffered entries (a put of several records is one).
   */
  async delete(name: string): Promise<number> {
    const r = this.get(name);
    const w = this.workers.get(name);
    this.workers.delete(name);
    await w?.stop();
    const discarded = await this.dropBuffer(r);
    await removeJournal(this.o.broker, name);
    this.records.delete(name);
    await this.o.broker.deleteSession(RECORD_PREFIX + name);
    this.o.log.info({ stream: name, discardedEntries: discarded }, 'delivery stream deleted');
    return discarded;
  }

  /**
   * Puts records to a direct-put stream: together one persistent message of the stream's queue
   * (record-frames.ts), their outcome known once it is stored (or refused: the buffer full, the
   * caller not allowed).
   */
  async put(name: string, records: readonly Uint8Array[], ctx: ClientContext): Promise<PutOutcome[]> {
    const r = this.get(name);
    if (r.source.kind === 'kinesis')
      throw new DeliveryStreamArgumentError('This operation is not permitted on KinesisStreamAsSource delivery stream type.');
    if (r.source.kind !== 'direct-put')
      throw new DeliveryStreamArgumentError(
        `Delivery stream ${name} takes its records from topic ${r.source.topic}: records cannot be put to it.`,
      );
    const destination = { kind: 'queue' as const, name: bufferQueue(name) };
    const input =
      records.length === 1
        ? { destination, body: records[0] as Uint8Array, persistent: true }
        : { destination, body: frameRecords(records), properties: { [RECORD_COUNT_PROPERTY]: records.length }, persistent: true };
    try {
      const { messageId } = await this.o.broker.publish(input, ctx);
      return records.map((_, i) => ({ recordId: records.length === 1 ? messageId : `${messageId}:${String(i)}` }));
    } catch (err) {
      const error = err instanceof JunctionError ? err : new JunctionError('store-unavailable', String(err));
      return records.map(() => ({ error }));
    }
  }

  /** A topic rule's MQTT filter as the topic pattern it reads. */
  private resolve(source: DeliveryStreamSpec['source']): StreamSource {
    if (source.kind === 'direct-put') return source;
    if (source.kind === 'kinesis') {
      if (!this.o.streams?.has(source.stream))
        throw new DeliveryStreamArgumentError(
          `Kinesis stream ${source.stream} not found: a delivery stream reads a stream of this broker`,
          {
            stream: source.stream,
          },
        );
      return source;
    }
    if (source.topic !== undefined) return { kind: 'topic', topic: source.topic };
    const filter = source.mqttTopicFilter as string;
    if (!this.o.mqttFilterToPattern) throw new DeliveryStreamArgumentError('MQTT topic filters need the MQTT adapter', { filter });
    try {
      return { kind: 'topic', topic: this.o.mqttFilterToPattern(filter), mqttTopicFilter: filter };
    } catch (err) {
      throw new DeliveryStreamArgumentError(`mqttTopicFilter: ${(err as Error).message}`, { filter });
    }
  }

  private newRecord(
    spec: Omit<DeliveryStreamSpec, 'source'> & { source: StreamSource },
    tags: Record<string, string>,
    origin: 'api' | 'config',
  ): DeliveryStreamRecord {
    const now = Date.now();
    return { ...spec, version: 1, createdAt: now, updatedAt: now, tags, encryption: 'DISABLED', origin };
  }

  private async save(r: DeliveryStreamRecord): Promise<void> {
    await this.o.broker.putSession({
      id: RECORD_PREFIX + r.name,
      data: r as unknown as Record<string, unknown>,
      updatedAt: Date.now(),
      expiresAt: 0,
    });
    this.records.set(r.name, r);
  }

  private async startWorker(r: DeliveryStreamRecord): Promise<void> {
    if (r.source.kind === 'direct-put') {
      const q = bufferQueue(r.name);
      // The buffer never dead-letters (a takeover's redelivery is not a failure) and is bounded in the store.
      this.o.broker.setQueueRules(q, {
        maxDeliveries: 0,
        deadLetterQueue: null,
        maxMessages: this.o.settings.maxBufferedMessages,
        maxBytes: this.o.settings.maxBufferedBytes,
        overflow: 'reject',
        // The worker holds a whole batch (up to maxBytesInFlight) unacknowledged: the queue's memory window must hold it.
        pageWindowBytes: this.o.settings.maxBytesInFlight,
      });
      this.o.broker.operations.createQueue(q);
    }
    const w = new DeliveryWorker(this.host, r);
    this.workers.set(r.name, w);
    try {
      await w.start();
    } catch (err) {
      this.workers.delete(r.name);
      this.o.log.error({ err, stream: r.name }, 'delivery stream could not start');
    }
  }

  /** The core queue holding a stream's records: its own, or its topic rule's durable subscription's (none for a stream source: the stream holds them). */
  private bufferOf(r: DeliveryStreamRecord): string | undefined {
    if (r.source.kind === 'kinesis') return undefined;
    return r.source.kind === 'direct-put' ? bufferQueue(r.name) : durableSubscriptionQueue(FIREHOSE_CLIENT_ID, r.name);
  }

  /** Removes a stream's buffer with what it holds; answers how many entries were in it. */
  private async dropBuffer(r: DeliveryStreamRecord): Promise<number> {
    const broker = this.o.broker;
    await broker.flush();
    if (r.source.kind === 'direct-put') {
      const q = bufferQueue(r.name);
      const depth = broker.getQueue(q)?.messages ?? 0;
      if (broker.hasQueue(q)) broker.deleteQueue(q);
      broker.setQueueRules(q, undefined);
      return depth;
    }
    if (r.source.kind === 'kinesis') return 0;
    const depth = broker.getQueue(durableSubscriptionQueue(FIREHOSE_CLIENT_ID, r.name))?.messages ?? 0;
    try {
      broker.unsubscribeDurable(FIREHOSE_CLIENT_ID, r.name);
    } catch {
      // No subscription: nothing was buffered.
    }
    return depth;
  }
}
