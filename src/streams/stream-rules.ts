// The configured rules that feed a topic pattern (or an MQTT topic filter) into a stream: the binding
// between routing and a stream. Each rule is a durable subscription of client `streams`, so a
// publisher is acknowledged once its message is stored (as for any subscriber), full subscriptions
// hold publishers back rather than drop, and what a broker had not appended when it stopped is
// appended by the next one. One pump per rule appends in delivery order, so each key keeps its
// order; a message is acknowledged once its record is in the stream (at least once: a takeover
// between the two appends it again, as a Kinesis producer's retry would).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Broker } from '../core/broker.ts';
import type { Consumer, Delivery } from '../core/consumer.ts';
import type { Message } from '../core/message.ts';
import type { StreamRule } from './config.ts';
import type { PutInput, Streams } from './streams.ts';

export const STREAMS_CLIENT_ID = 'streams';
const WINDOW = 2000;
const BATCH = 500;
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;

export interface RuleHost {
  broker: Broker;
  streams: Streams;
  log: Logger;
  /** An MQTT topic filter as a topic pattern (the MQTT adapter's mapping); absent, filters are refused. */
  mqttFilterToPattern?: (filter: string) => string;
}

/** The durable subscription's name for a rule: stable across restarts while the rule stays the same. */
export function ruleSubscriptionName(rule: StreamRule, pattern: string): string {
  return `${rule.stream}<-${pattern}`;
}

export class StreamRuleWorker {
  private consumer: Consumer | undefined;
  private readonly waiting: Delivery[] = [];
  private pumping: Promise<void> | undefined;
  private readonly stopped = new AbortController();
  readonly pattern: string;
  appended = 0;

  constructor(
    private readonly host: RuleHost,
    readonly rule: StreamRule,
  ) {
    if (rule.topic !== undefined) this.pattern = rule.topic;
    else if (host.mqttFilterToPattern) this.pattern = host.mqttFilterToPattern(rule.mqttFilter as string);
    else throw new Error(`streams.rules: an MQTT topic filter (${rule.mqttFilter}) needs the MQTT adapter`);
  }

  async start(): Promise<void> {
    const { broker, streams } = this.host;
    if (!streams.has(this.rule.stream)) await streams.create(this.rule.stream, 1);
    this.consumer = await broker.subscribe(
      {
        destination: { kind: 'topic', name: this.pattern },
        durable: { clientId: STREAMS_CLIENT_ID, name: ruleSubscriptionName(this.rule, this.pattern) },
        creditMode: 'window',
        prefetch: WINDOW,
        // Full, it holds the topic's publishers back; never declared a slow consumer (that would drop records).
        limits: { overflow: 'block', slowConsumerHoldMs: 0 },
        onMessage: (d) => {
          this.waiting.push(d);
          this.pumping ??= this.pump().finally(() => (this.pumping = undefined));
        },
      },
      { connectionId: `streams:${this.rule.stream}`, clientId: STREAMS_CLIENT_ID },
    );
  }

  async stop(): Promise<void> {
    this.stopped.abort();
    this.consumer?.close();
    await this.pumping;
  }

  private async pump(): Promise<void> {
    let backoff = FIRST_RETRY_MS;
    while (this.waiting.length > 0 && !this.stopped.signal.aborted) {
      const batch = this.waiting.slice(0, BATCH);
      try {
        const results = await this.host.streams.put(
          this.rule.stream,
          batch.map((d) => this.record(d.message)),
        );
        // Appended in order up to the first refusal; the rest waits and goes again, keeping each key's order.
        let done = 0;
        while (done < results.length && !('error' in (results[done] as object))) done++;
        for (const d of batch.slice(0, done)) this.consumer?.ack(d.tag);
        this.waiting.splice(0, done);
        this.appended += done;
        if (done === batch.length) {
          backoff = FIRST_RETRY_MS;
          continue;
        }
        const first = results[done] as { error: Error };
        this.host.log.warn({ stream: this.rule.stream, err: first.error }, 'stream rule: a record was refused; retrying');
      } catch (err) {
        this.host.log.warn({ stream: this.rule.stream, err }, 'stream rule: append failed; retrying');
      }
      await sleep(backoff, undefined, { signal: this.stopped.signal }).catch(() => {});
      backoff = Math.min(backoff * 2, MAX_RETRY_MS);
    }
  }

  private record(m: Message): PutInput {
    const pk = this.rule.partitionKey;
    let key: string | undefined;
    if (pk.property !== undefined) {
      const v = m.properties[pk.property];
      if (v !== undefined && v !== null) key = String(v);
    }
    if (key === undefined && pk.topicLevel !== undefined) {
      key = m.destination.name.split('.')[pk.topicLevel];
      // The MQTT mapping turned a `.` inside a level into `/`: the device's own spelling comes back.
      if (this.rule.mqttFilter !== undefined) key = key?.replaceAll('/', '.');
    }
    if (key === undefined || key === '') key = m.destination.name;
    return { key: key.slice(0, 256), data: Buffer.from(m.body) };
  }
}
