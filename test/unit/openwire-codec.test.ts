// The OpenWire codec against bytes ActiveMQ's Java client wrote (test/fixtures/openwire/*.bin: the
// client's side of a session sending every message type, recorded in tight and loose encoding, with
// and without the marshalling cache, and at wire version 9), and property tests: what the codec
// writes it reads back, and no input makes it fail other than with a codec error.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OpenWireCodec, TYPE, type WireSettings } from '../../adapters/openwire/codec.ts';
import { decodeModifiedUtf8, encodeModifiedUtf8 } from '../../adapters/openwire/data-io.ts';
import { OpenWireCodecError } from '../../adapters/openwire/errors.ts';
import { FrameReader } from '../../adapters/openwire/frame-reader.ts';
import type { Struct } from '../../adapters/openwire/layout-types.ts';
import { messageFromWire, messageToWire } from '../../adapters/openwire/mapping.ts';
import { decodeMap, encodeMap, type JavaValue } from '../../adapters/openwire/primitive-map.ts';
import { createMessage } from '../../src/core/message.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/openwire');

/** The client's frames, each with its size prefix. */
function framesOf(name: string): Buffer[] {
  const stream = readFileSync(join(FIXTURES, `java-client-types-${name}.bin`));
  const out: Buffer[] = [];
  for (let at = 0; at < stream.length;) {
    const size = stream.readInt32BE(at);
    out.push(stream.subarray(at, at + 4 + size));
    at += 4 + size;
  }
  return out;
}

const RECORDINGS: Record<string, WireSettings> = {
  tight: { version: 12, tight: true, cache: true, cacheSize: 1024, stackTrace: false },
  loose: { version: 12, tight: false, cache: true, cacheSize: 1024, stackTrace: false },
  nocache: { version: 12, tight: true, cache: false, cacheSize: 1024, stackTrace: false },
  v9: { version: 9, tight: true, cache: true, cacheSize: 1024, stackTrace: false },
};

describe('OpenWire codec on the Java client’s bytes', () => {
  for (const [name, settings] of Object.entries(RECORDINGS)) {
    it(`reads every command of a ${name} session and writes each back byte for byte`, () => {
      const frames = framesOf(name);
      const reader = new OpenWireCodec();
      const writer = new OpenWireCodec();
      const first = reader.decode(frames[0]!.subarray(4)) as Struct;
      expect(first.dataType).toBe(TYPE.WireFormatInfo);
      expect(first.version).toBe(settings.version);
      expect(writer.encode(first)).toEqual(frames[0]);
      reader.negotiated(settings);
      writer.negotiated(settings);
      const commands: Struct[] = [];
      for (const f of frames.slice(1)) {
        const c = reader.decode(f.subarray(4)) as Struct;
        commands.push(c);
        expect(writer.encode(c)).toEqual(f);
      }
      const types = new Set(commands.map((c) => c.dataType));
      for (const t of ['ConnectionInfo', 'SessionInfo', 'ProducerInfo', 'ConsumerInfo', 'MessageAck']) expect(types).toContain(TYPE[t]);
      for (const t of [
        'ActiveMQTextMessage',
        'ActiveMQBytesMessage',
        'ActiveMQMapMessage',
        'ActiveMQStreamMessage',
        'ActiveMQObjectMessage',
        'ActiveMQMessage',
      ]) {
        expect(types).toContain(TYPE[t]);
      }
      const text = commands.find((c) => c.dataType === TYPE.ActiveMQTextMessage) as Struct;
      const input = messageFromWire(text, { kind: 'queue', name: 'q' }, 0, 1 << 20);
      expect(Buffer.from(input.body).toString('utf8')).toBe('text \u00e9\u4e2d\ud83d\ude00 \u0000 end');
      expect(input.properties).toMatchObject({ b: true, y: -7, sh: 1234, i: 123456, l: 1234567890123, f: 1.5, d: 2.25, s: 'str' });
      expect(input.correlationId).toBe('corr-1');
      expect(input.type).toBe('kind-1');
      const map = commands.find((c) => c.dataType === TYPE.ActiveMQMapMessage) as Struct;
      expect(JSON.parse(Buffer.from(messageFromWire(map, { kind: 'queue', name: 'q' }, 0, 1 << 20).body).toString())).toEqual({
        name: 'x',
        n: 42,
        ok: true,
        pi: 3.5,
        raw: Buffer.from([9, 8]).toString('base64'),
      });
    });
  }

  it('gives an OpenWire consumer back the kind and the typed properties the producer sent', () => {
    const frames = framesOf('tight');
    const reader = new OpenWireCodec();
    reader.decode(frames[0]!.subarray(4));
    reader.negotiated(RECORDINGS.tight!);
    const text = frames
      .slice(1)
      .map((f) => reader.decode(f.subarray(4)) as Struct)
      .find((c) => c.dataType === TYPE.ActiveMQTextMessage) as Struct;
    const stored = createMessage(messageFromWire(text, { kind: 'queue', name: 'q' }, 0, 1 << 20), undefined, 1);
    const out = messageToWire({ message: stored, annotations: undefined }, { brokerSequenceId: 7, redeliveryCounter: 0 });
    expect(out.dataType).toBe(TYPE.ActiveMQTextMessage);
    const props = decodeMap(out.marshalledProperties as Uint8Array);
    expect(props.get('y')).toEqual({ t: 'byte', v: -7 });
    expect(props.get('f')).toEqual({ t: 'float', v: 1.5 });
    expect(props.get('l')).toEqual({ t: 'long', v: 1234567890123 });
    expect((out.messageId as Struct).brokerSequenceId).toBe(7);
  });
});

const ALL_SETTINGS = fc.record({
  version: fc.integer({ min: 9, max: 12 }),
  tight: fc.boolean(),
  cache: fc.boolean(),
  cacheSize: fc.constant(64),
  stackTrace: fc.boolean(),
});

const text = fc.string({ unit: 'binary', maxLength: 40 });
const id = (dataType: number): fc.Arbitrary<Struct> =>
  fc.record({ dataType: fc.constant(dataType), connectionId: text, sessionId: fc.nat(), value: fc.nat() }) as fc.Arbitrary<Struct>;
const destination = fc.record({
  dataType: fc.constantFrom(100, 101, 102, 103),
  physicalName: fc.option(text, { nil: null }),
}) as fc.Arbitrary<Struct>;
const long = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff_ffff }), fc.maxSafeInteger());

/** Commands clients send, with random field values (fields left out are the codec's defaults). */
const command: fc.Arbitrary<Struct> = fc.oneof(
  fc.record({
    dataType: fc.constant(TYPE.MessageAck!),
    commandId: fc.integer(),
    responseRequired: fc.boolean(),
    destination: fc.option(destination, { nil: null }),
    consumerId: id(TYPE.ConsumerId!),
    ackType: fc.integer({ min: 0, max: 6 }),
    messageCount: fc.integer(),
    poisonCause: fc.option(fc.record({ className: text, message: fc.option(text, { nil: null }) }), { nil: null }),
  }),
  fc.record({
    dataType: fc.constant(TYPE.ConsumerInfo!),
    commandId: fc.integer(),
    responseRequired: fc.boolean(),
    consumerId: id(TYPE.ConsumerId!),
    destination,
    prefetchSize: fc.integer(),
    selector: fc.option(text, { nil: null }),
    subscriptionName: fc.option(text, { nil: null }),
    noLocal: fc.boolean(),
    priority: fc.integer({ min: -128, max: 127 }),
  }),
  fc.record({
    dataType: fc.constantFrom(TYPE.ActiveMQTextMessage!, TYPE.ActiveMQBytesMessage!),
    commandId: fc.integer(),
    responseRequired: fc.boolean(),
    producerId: id(TYPE.ProducerId!),
    destination,
    groupID: fc.option(text, { nil: null }),
    persistent: fc.boolean(),
    expiration: long,
    timestamp: long,
    priority: fc.integer({ min: 0, max: 9 }),
    content: fc.option(
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      { nil: null },
    ),
    redeliveryCounter: fc.integer(),
  }),
) as fc.Arbitrary<Struct>;

/** What the codec reads back for a struct it was given: every field of the layout, defaults filled in. */
function normalized(codec: OpenWireCodec, s: Struct): Struct {
  const probe = new OpenWireCodec();
  probe.negotiated({ ...codec.settings });
  return probe.decode(probe.encode(s).subarray(4)) as Struct;
}

describe('OpenWire codec properties', () => {
  it('reads back what it writes, in every encoding, with the cache carried across commands', () => {
    fc.assert(
      fc.property(ALL_SETTINGS, fc.array(command, { minLength: 1, maxLength: 8 }), (settings, commands) => {
        const writer = new OpenWireCodec();
        const reader = new OpenWireCodec();
        writer.negotiated(settings);
        reader.negotiated(settings);
        for (const c of commands) {
          const expected = normalized(writer, c);
          const frame = writer.encode(c);
          expect(frame.readInt32BE(0)).toBe(frame.length - 4);
          expect(reader.decode(frame.subarray(4))).toEqual(expected);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('fails on any malformed frame only with a codec error', () => {
    fc.assert(
      fc.property(ALL_SETTINGS, fc.uint8Array({ minLength: 1, maxLength: 300 }), (settings, bytes) => {
        const codec = new OpenWireCodec();
        codec.negotiated(settings);
        try {
          codec.decode(Buffer.from(bytes));
        } catch (err) {
          expect(err).toBeInstanceOf(OpenWireCodecError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('fails on a truncated or corrupted real command only with a codec error', () => {
    const frames = framesOf('tight').slice(1);
    fc.assert(
      fc.property(fc.constantFrom(...frames), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean(), (frame, at, byte, truncate) => {
        const codec = new OpenWireCodec();
        codec.negotiated(RECORDINGS.tight!);
        const payload = Buffer.from(frame.subarray(4));
        const i = at % payload.length;
        const input = truncate ? payload.subarray(0, i) : (payload.writeUInt8(byte, i), payload);
        try {
          codec.decode(input);
        } catch (err) {
          expect(err).toBeInstanceOf(OpenWireCodecError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('splits a stream into frames however it is cut, and refuses a frame over the limit before buffering it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 50 }), { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (payloads, cuts) => {
          const stream = Buffer.concat(payloads.map((p) => Buffer.concat([Buffer.from([0, 0, 0, p.length]), p])));
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const reader = new FrameReader(1000);
          const got: Buffer[] = [];
          let from = 0;
          for (const p of [...points, stream.length]) {
            got.push(...reader.push(stream.subarray(from, p)));
            from = p;
          }
          expect(got.map((b) => Buffer.from(b))).toEqual(payloads.map((p) => Buffer.from(p)));
        },
      ),
    );
    expect(() => new FrameReader(1000).push(Buffer.from([0, 0, 0x10, 0]))).toThrow(/larger than max allowed 1000/);
    expect(() => new FrameReader(1000).push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(OpenWireCodecError);
  });

  it('encodes strings in Java’s modified UTF-8 and reads them back', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 50 }), fc.string({ unit: 'binary', maxLength: 50 }), (a, b) => {
        for (const s of [a, b, `${a}\u0000${b}`]) expect(decodeModifiedUtf8(encodeModifiedUtf8(s))).toBe(s);
      }),
    );
    expect([...encodeModifiedUtf8('\u0000')]).toEqual([0xc0, 0x80]);
    expect([...encodeModifiedUtf8('\ud83d\ude00')]).toEqual([0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]);
  });

  it('reads back typed values (message properties, map bodies)', () => {
    const value: fc.Arbitrary<JavaValue> = fc.oneof(
      fc.boolean().map((v) => ({ t: 'boolean' as const, v })),
      fc.integer({ min: -128, max: 127 }).map((v) => ({ t: 'byte' as const, v })),
      fc.integer({ min: -32768, max: 32767 }).map((v) => ({ t: 'short' as const, v })),
      fc.integer().map((v) => ({ t: 'int' as const, v })),
      fc.maxSafeInteger().map((v) => ({ t: 'long' as const, v })),
      fc.double({ noNaN: true }).map((v) => ({ t: 'double' as const, v })),
      fc.string({ unit: 'binary', maxLength: 30 }).map((v) => ({ t: 'string' as const, v })),
      fc.uint8Array({ maxLength: 30 }).map((v) => ({ t: 'bytes' as const, v: Buffer.from(v) })),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 10 }), value), (dict) => {
        const map = new Map(Object.entries(dict));
        expect(decodeMap(encodeMap(map))).toEqual(map);
      }),
    );
  });
});
