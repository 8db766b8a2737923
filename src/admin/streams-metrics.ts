// Streams in /metrics, read at scrape time, named after Kinesis's CloudWatch metrics: records and
// bytes put (IncomingRecords/IncomingBytes) and read (GetRecords.Records/.Bytes), the age of the
// last record GetRecords returned (GetRecords.IteratorAgeMilliseconds), calls refused by a
// PROVISIONED shard's limits (...ProvisionedThroughputExceeded), and open shards.
import type { Registry } from 'prom-client';
import { scrapedCounter, scrapedGauge } from './scraped-metrics.ts';
import type { StreamCounters, Streams } from '../streams/streams.ts';

export function streamMetrics(registry: Registry, source: () => Streams | undefined): void {
  const values = (read: (c: StreamCounters, s: Streams, name: string) => number): Array<[string, number]> => {
    const s = source();
    if (!s) return [];
    return s.list().map((r) => [r.name, read(s.counters(r.name), s, r.name)]);
  };
  const counter = (name: string, help: string, read: (c: StreamCounters) => number): void =>
    scrapedCounter(registry, name, help, 'stream', () => values(read));
  const gauge = (name: string, help: string, read: (c: StreamCounters, s: Streams, stream: string) => number): void =>
    scrapedGauge(registry, name, help, 'stream', () => values(read));
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
