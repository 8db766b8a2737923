// Streams in /metrics, read at scrape time, named after Kinesis's CloudWatch metrics: records and
// bytes put (IncomingRecords/IncomingBytes) and read (GetRecords.Records/.Bytes), the age of the
// last record GetRecords returned (GetRecords.IteratorAgeMilliseconds), calls refused by a
// PROVISIONED shard's limits (...ProvisionedThroughputExceeded), and open shards.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { StreamCounters, Streams } from '../streams/streams.ts';

export function streamMetrics(registry: Registry, source: () => Streams | undefined): void {
  const values = (read: (c: StreamCounters, s: Streams, name: string) => number): Array<[string, number]> => {
    const s = source();
    if (!s) return [];
    return s.list().map((r) => [r.name, read(s.counters(r.name), s, r.name)]);
  };
  const counter = (name: string, help: string, read: (c: StreamCounters) => number): void => {
    new Counter({
      name,
      help,
      labelNames: ['stream'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [stream, v] of values(read)) if (v > 0) this.inc({ stream }, v);
      },
    });
  };
  const gauge = (name: string, help: string, read: (c: StreamCounters, s: Streams, stream: string) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['stream'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [stream, v] of values(read)) this.set({ stream }, v);
      },
    });
  };
  counter('junction_stream_incoming_records_total', 'Records put to the stream (IncomingRecords), by stream', (c) => c.incomingRecords);
  counter(
    'junction_stream_incoming_bytes_total',
    'Bytes of record data put to the stream (IncomingBytes), by stream',
    (c) => c.incomingBytes,
  );
  counter(
    'junction_stream_outgoing_records_total',
    'Records read from the stream (GetRecords.Records), by stream',
    (c) => c.outgoingRecords,
  );
  counter('junction_stream_outgoing_bytes_total', 'Bytes of record data read (GetRecords.Bytes), by stream', (c) => c.outgoingBytes);
  counter(
    'junction_stream_throttled_total',
    "Puts and reads refused by a PROVISIONED shard's limits (Write/ReadProvisionedThroughputExceeded), by stream",
    (c) => c.throttled,
  );
  gauge(
    'junction_stream_iterator_age_milliseconds',
    'Age of the last record a read returned (GetRecords.IteratorAgeMilliseconds), by stream',
    (c) => c.iteratorAgeMs,
  );
  gauge('junction_stream_open_shards', 'Open shards, by stream', (_c, s, name) => s.openShards(name).length);
}
