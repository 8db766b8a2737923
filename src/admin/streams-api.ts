// The admin API's streams (/api/streams): each stream with its mode, retention, shards (hash key
// ranges, lineage, records held, first and last record) and named consumers with their lag;
// records read from a shard at a position (what `junction streams read` prints); made and deleted.
import { parseSequenceNumber, sequenceNumberOf, shardNumberOf } from '../streams/sequence-numbers.ts';
import type { StreamView, Streams } from '../streams/streams.ts';
import { JunctionError } from '../shared/errors.ts';
import type { StreamRecord } from '../store/stream-store.ts';
import type { ApiRoute } from './api.ts';

export interface StreamsSource {
  activeStreams(): Streams | undefined;
}

function at(id: string | undefined): string | undefined {
  return id === undefined ? undefined : new Date(Number(id.slice(0, id.indexOf('-')))).toISOString();
}

export function streamSummary(r: StreamRecord, s: Streams): Record<string, unknown> {
  const c = s.counters(r.name);
  return {
    name: r.name,
    mode: r.mode,
    retentionHours: r.retentionHours,
    openShards: r.shards.filter((x) => x.closedAt === undefined).length,
    shards: r.shards.length,
    createdAt: new Date(r.createdAt).toISOString(),
    tags: r.tags,
    encryption: r.encryptionKeyId !== undefined ? 'KMS' : 'NONE',
    incomingRecords: c.incomingRecords,
    incomingBytes: c.incomingBytes,
    outgoingRecords: c.outgoingRecords,
    outgoingBytes: c.outgoingBytes,
    iteratorAgeMs: c.iteratorAgeMs,
    throttled: c.throttled,
  };
}

export function streamView(v: StreamView, s: Streams): Record<string, unknown> {
  const lastOf = new Map(v.shards.map((x) => [x.id, x.stats.last]));
  return {
    ...streamSummary(v.record, s),
    records: v.shards.reduce((n, x) => n + x.stats.records, 0),
    shardList: v.shards.map((x) => ({
      id: x.id,
      state: x.closedAt === undefined ? 'open' : 'closed',
      startingHashKey: x.range.start,
      endingHashKey: x.range.end,
      parent: x.parent,
      adjacentParent: x.adjacentParent,
      records: x.stats.records,
      firstSequenceNumber: x.stats.first !== undefined ? sequenceNumberOf(x.stats.first, shardNumberOf(x.id)) : undefined,
      lastSequenceNumber: x.stats.last !== undefined ? sequenceNumberOf(x.stats.last, shardNumberOf(x.id)) : undefined,
      oldestAt: at(x.stats.first),
      newestAt: at(x.stats.last),
    })),
    consumers: Object.entries(v.consumers).map(([name, positions]) => {
      // Lag: how far (in arrival time) the consumer is behind each shard's newest record; the worst shard counts.
      let lagMs = 0;
      for (const [shard, id] of Object.entries(positions)) {
        const last = lastOf.get(shard);
        if (last !== undefined) lagMs = Math.max(lagMs, Number(last.split('-')[0]) - Number(id.split('-')[0]));
      }
      return { name, positions, lagMs };
    }),
  };
}

export function streamRoutes(source: StreamsSource): ApiRoute[] {
  const streams = (): Streams => {
    const s = source.activeStreams();
    if (!s) throw new JunctionError('closed', 'This broker is a standby: it serves no streams');
    return s;
  };
  return [
    {
      method: 'GET',
      url: '/api/streams',
      tag: 'streams',
      summary: 'Streams with their shards and traffic',
      run: () => {
        const s = streams();
        return s.list().map((r) => streamSummary(r, s));
      },
    },
    {
      method: 'GET',
      url: '/api/streams/:name',
      tag: 'streams',
      summary: 'One stream: its shards (ranges, lineage, records) and named consumers with their lag',
      run: async ({ params }) => {
        const s = streams();
        return streamView(await s.view(params.name as string), s);
      },
    },
    {
      method: 'GET',
      url: '/api/streams/:name/records',
      tag: 'streams',
      summary: "Records of one shard from a position: `from` = 'trim-horizon' (default), 'latest' or a sequence number",
      query: {
        type: 'object',
        properties: { shard: { type: 'string' }, from: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 1000 } },
      },
      run: async ({ params, query }) => {
        const s = streams();
        const name = params.name as string;
        const shard = query.shard ?? (s.get(name).shards[0]?.id as string);
        s.shard(name, shard);
        const limit = Number(query.limit ?? 10);
        let from = '0-0';
        if (query.from === 'latest') {
          const last = await s.last(name, shard);
          if (last) from = last.id;
        } else if (query.from !== undefined && query.from !== 'trim-horizon') {
          const p = parseSequenceNumber(query.from);
          if (!p) throw new JunctionError('invalid-argument', `from: ${query.from} is not a sequence number, trim-horizon or latest`);
          from = p.entryId;
        }
        const n = shardNumberOf(shard);
        return (await s.read(name, shard, from, true, limit)).map((e) => {
          let text: string | undefined;
          try {
            text = new TextDecoder('utf-8', { fatal: true }).decode(e.data);
          } catch {
            text = undefined;
          }
          return {
            shard,
            sequenceNumber: sequenceNumberOf(e.id, n),
            arrivedAt: new Date(e.at).toISOString(),
            partitionKey: e.key,
            bytes: e.data.length,
            ...(text !== undefined ? { text } : { base64: e.data.toString('base64') }),
          };
        });
      },
    },
    {
      method: 'POST',
      url: '/api/streams',
      tag: 'streams',
      summary: 'Create a stream: name, shards (default 1), mode PROVISIONED or ON_DEMAND',
      body: {
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 1 },
          shards: { type: 'integer', minimum: 1 },
          mode: { type: 'string', enum: ['PROVISIONED', 'ON_DEMAND'] },
        },
      },
      change: 'create stream',
      run: async ({ body }) => {
        const s = streams();
        const mode = (body.mode as 'PROVISIONED' | 'ON_DEMAND' | undefined) ?? 'PROVISIONED';
        const r = await s.create(
          body.name as string,
          (body.shards as number | undefined) ?? (mode === 'PROVISIONED' ? 1 : undefined),
          mode,
        );
        return streamSummary(r, s);
      },
    },
    {
      method: 'DELETE',
      url: '/api/streams/:name',
      tag: 'streams',
      summary: 'Delete a stream and every record it holds',
      change: 'delete stream',
      run: async ({ params }) => {
        await streams().delete(params.name as string);
        return { deleted: params.name };
      },
    },
  ];
}
