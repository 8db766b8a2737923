// Delivery streams in /metrics, read at scrape time, named after Firehose's CloudWatch metrics:
// records and bytes delivered (DeliveryToS3.Records/.Bytes), objects written and failed writes
// (DeliveryToS3.Success as a count of successes and failures), data freshness
// (DeliveryToS3.DataFreshness: age of the oldest record the worker holds), what each buffers, and
// what a takeover found already written (skipped) or could not tell (written again).
import type { Registry } from 'prom-client';
import { scrapedCounter, scrapedGauge } from './scraped-metrics.ts';
import type { DeliveryStreams } from '../firehose/delivery-streams.ts';
import type { DeliveryStats } from '../firehose/delivery-worker.ts';

export function deliveryStreamMetrics(registry: Registry, source: () => DeliveryStreams | undefined): void {
  const each = (read: (s: DeliveryStats, entries: number, bytes: number) => number) => (): Array<[string, number]> => {
    const d = source();
    if (!d) return [];
    return d.list().flatMap((r) => {
      const v = d.view(r.name);
      return v.stats ? [[r.name, read(v.stats, v.bufferedEntries, v.bufferedBytes)] as [string, number]] : [];
    });
  };
  const counter = (name: string, help: string, read: (s: DeliveryStats) => number): void =>
    scrapedCounter(registry, name, help, 'stream', each(read));
  const gauge = (name: string, help: string, read: (s: DeliveryStats, entries: number, bytes: number) => number): void =>
    scrapedGauge(registry, name, help, 'stream', each(read));
  counter('junction_firehose_delivered_records_total', 'Records written to their destination, by delivery stream', (s) => s.records);
  counter('junction_firehose_delivered_bytes_total', 'Bytes of objects written (compressed), by delivery stream', (s) => s.bytes);
  counter('junction_firehose_objects_total', 'Objects written to the destination, by delivery stream', (s) => s.objects);
  counter(
    'junction_firehose_delivery_failures_total',
    'Object writes that failed (each retry counts), by delivery stream',
    (s) => s.failures,
  );
  counter(
    'junction_firehose_error_records_total',
    'Records written to the error prefix after the retry duration ran out, by delivery stream',
    (s) => s.errorRecords,
  );
  counter(
    'junction_firehose_redelivered_records_total',
    'Records written again after a takeover that could not tell whether their object was written (possible duplicates), by delivery stream',
    (s) => s.redelivered,
  );
  counter(
    'junction_firehose_skipped_records_total',
    'Records a takeover redelivered that were already in an object (acknowledged, not written again), by delivery stream',
    (s) => s.skipped,
  );
  gauge(
    'junction_firehose_data_freshness_seconds',
    'Age of the oldest record in the batches being filled or written (0 when none; entries still waiting in the store are older), by delivery stream',
    (s) => (s.oldestInFlight !== undefined ? (Date.now() - s.oldestInFlight) / 1000 : 0),
  );
  gauge(
    'junction_firehose_buffered_entries',
    'Puts waiting in the store, not yet taken (a PutRecordBatch call is one), by delivery stream',
    (_s, entries) => entries,
  );
  gauge(
    'junction_firehose_in_flight_records',
    'Records in the batches being filled or written, by delivery stream',
    (s) => s.inFlightRecords,
  );
  gauge(
    'junction_firehose_buffered_bytes',
    'Bytes the buffer holds, waiting and in batches, as its queue counts them (with per-message overhead), by delivery stream',
    (_s, _e, bytes) => bytes,
  );
  gauge('junction_firehose_failing', '1 while the destination refuses writes, by delivery stream', (s) =>
    s.failingSince !== undefined ? 1 : 0,
  );
}
