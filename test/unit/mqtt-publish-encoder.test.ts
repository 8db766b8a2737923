// The hand-written PUBLISH header against mqtt-packet: header and payload together are the bytes
// mqtt-packet's generate() makes for the same packet (DUP cleared at QoS 0), for any topic (UTF-8 included), payload size
// across every Remaining Length width, QoS, retain, dup and packet id; and mqtt-packet's parser
// reads them back as sent. The shared QoS 0 header is made once per message and retain flag.
import fc from 'fast-check';
import mqttPacket, { type IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { publishHeader, SharedHeaders } from '../../adapters/mqtt/publish-encoder.ts';

const sizes = fc.oneof(
  fc.integer({ min: 0, max: 200 }),
  fc.constantFrom(123, 124, 125, 126, 127, 128, 16_379, 16_380, 16_383, 16_384, 2_097_148, 2_097_152),
);

describe('publishHeader', () => {
  it('with the payload, is what mqtt-packet generates for the same PUBLISH, and parses back as sent', () => {
    fc.assert(
      fc.property(
        fc
          .string({ unit: 'grapheme', minLength: 1, maxLength: 60 })
          .filter((t) => !t.includes('#') && !t.includes('+') && !t.includes(String.fromCharCode(0))),
        sizes,
        fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>,
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 1, max: 65_535 }),
        (topic, size, qos, retain, dup, id) => {
          const payload = Buffer.alloc(size, 0x5a);
          const header = publishHeader(Buffer.from(topic, 'utf8'), size, qos, retain, dup, id);
          // [MQTT-3.3.1-2] DUP is 0 at QoS 0, whatever is asked.
          const packet: IPublishPacket = { cmd: 'publish', topic, payload, qos, retain, dup: qos > 0 && dup };
          if (qos > 0) packet.messageId = id;
          const wire = Buffer.concat([header, payload]);
          expect(wire.equals(mqttPacket.generate(packet))).toBe(true);
          const parser = mqttPacket.parser();
          const got: IPublishPacket[] = [];
          parser.on('packet', (p) => got.push(p as IPublishPacket));
          parser.parse(wire);
          expect(got).toHaveLength(1);
          expect(got[0]).toMatchObject({ topic, qos, retain, dup: qos > 0 ? dup : false, ...(qos > 0 ? { messageId: id } : {}) });
          expect(Buffer.compare(got[0]!.payload as Buffer, payload)).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a packet past MQTT 256 MB with a readable RangeError', () => {
    expect(() => publishHeader(Buffer.from('t'), 268_435_455, 0, false, false)).toThrow(/at most 256 MB/);
  });
});

describe('SharedHeaders', () => {
  it('makes the QoS 0 header once per message and retain flag, and anew for the next message', () => {
    const shared = new SharedHeaders();
    const topic = Buffer.from('a/b');
    const m1 = {};
    const m2 = {};
    const h1 = shared.qos0(m1, topic, 10, false);
    expect(shared.qos0(m1, topic, 10, false)).toBe(h1);
    const retained = shared.qos0(m1, topic, 10, true);
    expect(retained).not.toBe(h1);
    expect(retained[0]).toBe(0x31);
    const h2 = shared.qos0(m2, topic, 10, false);
    expect(h2).not.toBe(h1);
    expect(h2.equals(h1)).toBe(true);
  });
});
