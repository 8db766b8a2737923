// The admin API's delivery streams (/api/delivery-streams): each stream with its source, destination,
// what it buffers and how its deliveries go (objects and records written, last delivery and its
// freshness, failing since, retries); made from a definition in the configuration file's shape, and
// deleted (what it still buffers is discarded, counted in the answer).
import type { DeliveryStreams, DeliveryStreamView } from '../firehose/delivery-streams.ts';
import { deliveryStreamSpecSchema } from '../firehose/delivery-stream.ts';
import { JunctionError } from '../shared/errors.ts';
import type { ApiRoute } from './api.ts';

export interface DeliveryStreamsSource {
  activeDeliveryStreams(): DeliveryStreams | undefined;
}

export function deliveryStreamView(v: DeliveryStreamView, arn: string): Record<string, unknown> {
  const r = v.record;
  const s = v.stats;
  return {
    name: r.name,
    arn,
    source: r.source,
    destination: r.destination,
    target: v.destination,
    version: r.version,
    origin: r.origin,
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
    tags: r.tags,
    encryption: r.encryption,
    bufferedEntries: v.bufferedEntries,
    bufferedBytes: v.bufferedBytes,
    inFlightRecords: s?.inFlightRecords ?? 0,
    inFlightBytes: s?.inFlightBytes ?? 0,
    oldestInFlightAgeMs: s?.oldestInFlight !== undefined ? Date.now() - s.oldestInFlight : undefined,
    objects: s?.objects ?? 0,
    records: s?.records ?? 0,
    bytes: s?.bytes ?? 0,
    errorObjects: s?.errorObjects ?? 0,
    errorRecords: s?.errorRecords ?? 0,
    failures: s?.failures ?? 0,
    redeliveredRecords: s?.redelivered ?? 0,
    skippedRecords: s?.skipped ?? 0,
    lastDeliveryAt: s?.lastDeliveryAt !== undefined ? new Date(s.lastDeliveryAt).toISOString() : undefined,
    lastFreshnessMs: s?.lastFreshnessMs,
    failingSince: s?.failingSince !== undefined ? new Date(s.failingSince).toISOString() : undefined,
    lastError: s?.lastError,
  };
}

export function deliveryStreamRoutes(source: DeliveryStreamsSource): ApiRoute[] {
  const streams = (): DeliveryStreams => {
    const d = source.activeDeliveryStreams();
    if (!d) throw new JunctionError('closed', 'This broker is a standby: it delivers no streams');
    return d;
  };
  return [
    {
      method: 'GET',
      url: '/api/delivery-streams',
      tag: 'delivery-streams',
      summary: 'Delivery streams with what they buffer and how their deliveries go',
      run: () => {
        const d = streams();
        return d.list().map((r) => deliveryStreamView(d.view(r.name), d.arn(r.name)));
      },
    },
    {
      method: 'GET',
      url: '/api/delivery-streams/:name',
      tag: 'delivery-streams',
      summary: 'One delivery stream',
      run: ({ params }) => {
        const d = streams();
        return deliveryStreamView(d.view(params.name as string), d.arn(params.name as string));
      },
    },
    {
      method: 'POST',
      url: '/api/delivery-streams',
      tag: 'delivery-streams',
      summary: "Create a delivery stream (the configuration file's shape: name, source, destination)",
      body: { type: 'object', required: ['name', 'destination'] },
      change: 'create delivery stream',
      run: async ({ body }) => {
        const parsed = deliveryStreamSpecSchema.safeParse(body);
        if (!parsed.success)
          throw new JunctionError('invalid-argument', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
        const d = streams();
        const r = await d.create(parsed.data);
        return deliveryStreamView(d.view(r.name), d.arn(r.name));
      },
    },
    {
      method: 'DELETE',
      url: '/api/delivery-streams/:name',
      tag: 'delivery-streams',
      summary:
        'Delete a delivery stream; what it still buffers is discarded (the answer counts the entries: a put of several records is one)',
      change: 'delete delivery stream',
      run: async ({ params }) => ({ discardedEntries: await streams().delete(params.name as string) }),
    },
  ];
}
