// Property tests of what streams compute rather than store: Kinesis's shard mapping (MD5 hash keys
// into ranges that cover every key once, before and after splits and merges), sequence numbers and
// stream offsets that order as their records do and read back, shard iterators that refuse any
// altered token, event-stream framing, and the JSON and CBOR wire codecs carrying blobs and
// timestamps both ways.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { decode, encode } from 'cbor-x';
import fc from 'fast-check';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { eventMessage, exceptionMessage } from '../../adapters/aws/event-stream.ts';
import { decodeIterator, encodeIterator, ITERATOR_LIFETIME_MS } from '../../adapters/aws/kinesis/shard-iterators.ts';
import type { AwsService } from '../../adapters/aws/service.ts';
import { decodeRequest, encodeResponse } from '../../adapters/aws/wire.ts';
import { kinesisModel } from '../../adapters/aws/model/kinesis-shapes.ts';
import { evenRanges, hashKeyOf, inRange, MAX_HASH_KEY, parseHashKey } from '../../src/streams/hash-keys.ts';
import { entryIdOfOffset, parseOffsetSpec, streamOffsetOf } from '../../src/streams/offsets.ts';
import { parseSequenceNumber, sequenceNumberOf } from '../../src/streams/sequence-numbers.ts';
import { Streams } from '../../src/streams/streams.ts';
import { streamsConfigSchema } from '../../src/streams/config.ts';
import { MemoryData, MemoryStore } from '../../src/store/memory-store.ts';
import { compareEntryIds } from '../../src/store/stream-store.ts';

/** Record ids up to the year 2255 (a stream offset is a 64-bit long until 2262). */
const entryId = fc
  .tuple(fc.integer({ min: 0, max: 9_000_000_000_000 }), fc.integer({ min: 0, max: 999_999 }))
  .map(([ms, n]) => `${ms}-${n}`);

describe('shard mapping', () => {
  it('splits the hash key space into ranges that cover every key exactly once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.string(), (n, key) => {
        const ranges = evenRanges(n);
        expect(BigInt(ranges[0]!.start)).toBe(0n);
        expect(BigInt(ranges.at(-1)!.end)).toBe(MAX_HASH_KEY);
        for (let i = 1; i < n; i++) expect(BigInt(ranges[i]!.start)).toBe(BigInt(ranges[i - 1]!.end) + 1n);
        const h = hashKeyOf(key);
        expect(ranges.filter((r) => inRange(h, r))).toHaveLength(1);
      }),
    );
  });

  it("takes a partition key's MD5 as an unsigned 128-bit number", () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (key) => {
        expect(hashKeyOf(key)).toBe(BigInt(`0x${createHash('md5').update(Buffer.from(key, 'utf8')).digest('hex')}`));
      }),
    );
    expect(parseHashKey(MAX_HASH_KEY.toString())).toBe(MAX_HASH_KEY);
    expect(parseHashKey((MAX_HASH_KEY + 1n).toString())).toBeUndefined();
    expect(parseHashKey('-1')).toBeUndefined();
  });

  it('keeps every hash key in exactly one open shard through any series of splits, merges and target counts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(
          fc.oneof(
            fc.record({ split: fc.nat(), at: fc.bigInt({ min: 1n, max: MAX_HASH_KEY }) }),
            fc.record({ merge: fc.nat() }),
            fc.record({ target: fc.nat() }),
          ),
          {
            maxLength: 8,
          },
        ),
        fc.array(fc.string(), { minLength: 1, maxLength: 20 }),
        async (initial, steps, keys) => {
          const store = new MemoryStore(1, new MemoryData());
          await store.open();
          const streams = new Streams({ store: store.streams, log: pino({ level: 'silent' }), settings: streamsConfigSchema.parse({}) });
          await streams.create('s', initial);
          for (const step of steps) {
            const open = streams.openShards('s').sort((a, b) => (BigInt(a.range.start) < BigInt(b.range.start) ? -1 : 1));
            try {
              if ('split' in step) {
                const shard = open[step.split % open.length]!;
                const size = BigInt(shard.range.end) - BigInt(shard.range.start);
                if (size < 1n) continue;
                await streams.split('s', shard.id, BigInt(shard.range.start) + 1n + (step.at % size));
              } else if ('merge' in step) {
                if (open.length < 2) continue;
                const i = step.merge % (open.length - 1);
                await streams.merge('s', open[i]!.id, open[i + 1]!.id);
              } else {
                const lo = Math.ceil(open.length / 2);
                await streams.updateShardCount('s', lo + (step.target % (open.length * 2 - lo + 1)));
              }
            } catch (err) {
              if ((err as { code?: string }).code !== 'resource-limit') throw err;
            }
          }
          const open = streams.openShards('s');
          for (const key of keys) expect(open.filter((s) => inRange(hashKeyOf(key), s.range))).toHaveLength(1);
          const results = await streams.put(
            's',
            keys.map((key) => ({ key, data: Buffer.from(key) })),
          );
          for (const r of results) expect('shardId' in r && open.some((s) => s.id === r.shardId)).toBe(true);
          streams.close();
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('sequence numbers and offsets', () => {
  it('read back, and order as the record ids they stand for', () => {
    fc.assert(
      fc.property(entryId, entryId, fc.integer({ min: 0, max: 999_999 }), (a, b, shard) => {
        const sa = sequenceNumberOf(a, shard);
        const sb = sequenceNumberOf(b, shard);
        expect(parseSequenceNumber(sa)).toEqual({ entryId: a, shardNumber: shard });
        expect(Math.sign(sa.localeCompare(sb))).toBe(Math.sign(compareEntryIds(a, b)));
        expect(Math.sign(Number(BigInt(sa) - BigInt(sb)))).toBe(Math.sign(compareEntryIds(a, b)));
        const oa = streamOffsetOf(a);
        expect(entryIdOfOffset(BigInt(oa))).toBe(a);
        expect(BigInt(oa) <= 2n ** 63n - 1n).toBe(true);
        expect(Math.sign(Number(BigInt(oa) - BigInt(streamOffsetOf(b))))).toBe(Math.sign(compareEntryIds(a, b)));
        expect(parseOffsetSpec(`offset=${oa}`)).toEqual({ kind: 'at', entryId: a });
        expect(parseOffsetSpec(sa)).toEqual({ kind: 'at', entryId: a });
      }),
    );
  });

  it('refuses what is not an offset spec', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        if (/^(first|last|next|(offset=)?\d{1,19}|timestamp=\d+(\.\d+)?|4\d{31})$/.test(s.trim())) return;
        expect(() => parseOffsetSpec(s)).toThrow(/stream offset/);
      }),
    );
  });
});

describe('shard iterators', () => {
  const position = fc.record({
    stream: fc.string({ minLength: 1 }),
    createdAt: fc.nat(),
    shard: fc.string({ minLength: 1 }),
    from: entryId,
    inclusive: fc.boolean(),
  });

  it('read back within five minutes, expire after, and refuse any altered token', () => {
    fc.assert(
      fc.property(position, fc.nat({ max: 1000 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (p, age, at, byte) => {
        const now = 1_700_000_000_000;
        const token = encodeIterator({ ...p, issuedAt: now - age });
        expect(decodeIterator(token, now)).toEqual({ ...p, issuedAt: now - age });
        expect(decodeIterator(token, now + ITERATOR_LIFETIME_MS + 1)).toBe('expired');
        const i = at % token.length;
        const altered = token.slice(0, i) + String.fromCharCode(byte) + token.slice(i + 1);
        if (altered !== token) expect(decodeIterator(altered, now)).not.toEqual({ ...p, issuedAt: now - age });
      }),
    );
  });
});

describe('event-stream messages', () => {
  /** Reads a message back the way the event-stream format lays it out. */
  function read(m: Buffer): { headers: Record<string, string>; payload: Buffer } {
    const total = m.readUInt32BE(0);
    const headersLength = m.readUInt32BE(4);
    expect(total).toBe(m.length);
    expect(m.readUInt32BE(8)).toBe(crc32(m.subarray(0, 8)));
    expect(m.readUInt32BE(total - 4)).toBe(crc32(m.subarray(0, total - 4)));
    const headers: Record<string, string> = {};
    let pos = 12;
    while (pos < 12 + headersLength) {
      const n = m.readUInt8(pos);
      const name = m.toString('utf8', pos + 1, pos + 1 + n);
      expect(m.readUInt8(pos + 1 + n)).toBe(7);
      const length = m.readUInt16BE(pos + 2 + n);
      headers[name] = m.toString('utf8', pos + 4 + n, pos + 4 + n + length);
      pos += 4 + n + length;
    }
    return { headers, payload: m.subarray(12 + headersLength, total - 4) };
  }

  it('frame any event with its lengths, its headers and both checksums', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60 }), fc.uint8Array({ maxLength: 2000 }), (type, payload) => {
        const m = read(eventMessage(type, Buffer.from(payload), 'application/json'));
        expect(m.headers).toEqual({ ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' });
        expect(m.payload.equals(Buffer.from(payload))).toBe(true);
        const x = read(exceptionMessage('ResourceNotFoundException', type));
        expect(x.headers[':exception-type']).toBe('ResourceNotFoundException');
        expect(JSON.parse(x.payload.toString())).toEqual({ message: type });
      }),
    );
  });
});

describe('Kinesis wire codecs', () => {
  const service = {
    jsonTargetPrefix: 'Kinesis_20131202',
    model: kinesisModel,
    jsonVersion: '1.1',
    signingName: 'kinesis',
  } as unknown as AwsService;
  const record = fc.record({
    Data: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    PartitionKey: fc.string({ maxLength: 256 }),
    ApproximateArrivalTimestamp: fc.integer({ min: 0, max: 4_000_000_000_000 }).map((ms) => new Date(ms)),
    SequenceNumber: fc.string(),
  });

  it('write blobs and timestamps as base64 and epoch seconds in JSON, byte strings and tag-1 times in CBOR', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 5 }), (records) => {
        const output = { Records: records, MillisBehindLatest: 0 } as never;
        const json = JSON.parse(
          encodeResponse({ service, protocol: 'json', action: 'GetRecords', input: {} }, output, 'r').body as string,
        ) as {
          Records: Array<{ Data: string; ApproximateArrivalTimestamp: number; PartitionKey: string }>;
        };
        json.Records.forEach((r, i) => {
          expect(Buffer.from(r.Data, 'base64').equals(records[i]!.Data)).toBe(true);
          expect(r.ApproximateArrivalTimestamp * 1000).toBeCloseTo(records[i]!.ApproximateArrivalTimestamp.getTime(), 3);
          expect(r.PartitionKey).toBe(records[i]!.PartitionKey);
        });
        const cbor = decode(encodeResponse({ service, protocol: 'cbor', action: 'GetRecords', input: {} }, output, 'r').body as Buffer) as {
          Records: Array<{ Data: Uint8Array; ApproximateArrivalTimestamp: Date }>;
        };
        cbor.Records.forEach((r, i) => {
          expect(Buffer.from(r.Data).equals(records[i]!.Data)).toBe(true);
          expect(r.ApproximateArrivalTimestamp.getTime()).toBe(records[i]!.ApproximateArrivalTimestamp.getTime());
        });
      }),
    );
  });

  it('decode any CBOR or JSON body as the same input, and refuse garbage with SerializationException', () => {
    fc.assert(
      fc.property(fc.string(), fc.uint8Array({ maxLength: 100 }), (name, bytes) => {
        const input = { StreamName: name, Data: Buffer.from(bytes) };
        const raw = { target: 'Kinesis_20131202.PutRecord', query: [] as Array<[string, string]>, signingName: undefined };
        const viaCbor = decodeRequest([service], { ...raw, contentType: 'application/x-amz-cbor-1.1', body: encode(input) });
        expect(viaCbor.protocol).toBe('cbor');
        expect(viaCbor.input.StreamName).toBe(name);
        expect(Buffer.from(viaCbor.input.Data as unknown as Uint8Array).equals(input.Data)).toBe(true);
        const viaJson = decodeRequest([service], {
          ...raw,
          contentType: 'application/x-amz-json-1.1',
          body: Buffer.from(JSON.stringify({ StreamName: name, Data: input.Data.toString('base64') })),
        });
        expect(viaJson.input.StreamName).toBe(name);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 50 }), (bytes) => {
        const raw = { target: 'Kinesis_20131202.PutRecord', query: [] as Array<[string, string]>, signingName: undefined };
        try {
          const d = decodeRequest([service], { ...raw, contentType: 'application/x-amz-cbor-1.1', body: Buffer.from(bytes) });
          expect(typeof d.input).toBe('object');
        } catch (err) {
          expect((err as { code?: string }).code).toBe('SerializationException');
        }
      }),
    );
  });
});
