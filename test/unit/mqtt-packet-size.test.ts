// The MQTT packet size guard against packets mqtt-packet encodes, cut into arbitrary chunks: it
// follows every boundary, flags exactly the first packet over the limit, and nothing before it.
import fc from 'fast-check';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { chunked, feedAll } from '../helpers/chunks.ts';
import { PacketSizeGuard } from '../../adapters/mqtt/packet-size.ts';

const packets = fc.array(
  fc.oneof(
    fc.record({ topic: fc.stringMatching(/^[a-z/]{1,20}$/), size: fc.integer({ min: 0, max: 20_000 }), qos: fc.constantFrom(0, 1) }).map(
      ({ topic, size, qos }): Packet =>
        ({
          cmd: 'publish',
          topic,
          payload: Buffer.alloc(size, 7),
          qos,
          retain: false,
          dup: false,
          messageId: qos ? 1 : undefined,
        }) as Packet,
    ),
    fc.constant({ cmd: 'pingreq' } as Packet),
    fc.constant({ cmd: 'puback', messageId: 9 } as Packet),
  ),
  { minLength: 1, maxLength: 12 },
);

describe('PacketSizeGuard', () => {
  it('flags the first packet over the limit, with its size, however the bytes are cut', () => {
    fc.assert(
      fc.property(packets, fc.integer({ min: 2, max: 25_000 }), fc.array(fc.nat(), { maxLength: 20 }), (ps, max, cuts) => {
        const encoded = ps.map((p) => mqttPacket.generate(p));
        const firstOver = encoded.find((e) => e.length > max);
        const guard = new PacketSizeGuard(max);
        const { flagged, passed } = feedAll((c) => guard.feed(c), chunked(Buffer.concat(encoded), cuts));
        expect(flagged?.size).toBe(firstOver?.length);
        if (firstOver) {
          // What passes is every packet before it, and never a byte of its own when its header began in this chunk.
          const before = encoded.slice(0, encoded.indexOf(firstOver)).reduce((n, e) => n + e.length, 0);
          expect(passed).toBeGreaterThanOrEqual(before);
          expect(passed).toBeLessThan(before + 5);
        }
      }),
    );
  });

  it('holds the first packet (the CONNECT, before authentication) to its own bound', () => {
    const connect = (will?: Buffer): Buffer =>
      mqttPacket.generate({
        cmd: 'connect',
        clientId: 'c',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        keepalive: 0,
        ...(will ? { will: { topic: 'w', payload: will, qos: 0, retain: false } } : {}),
      } as Packet);
    const big = connect(Buffer.alloc(5000));
    expect(new PacketSizeGuard(100_000, 1024).feed(big)).toEqual({ size: big.length, at: 0, limit: 1024 });
    // The bound is the CONNECT's alone: a large packet after it is held to the other one.
    const publish = mqttPacket.generate({
      cmd: 'publish',
      topic: 't',
      payload: Buffer.alloc(5000),
      qos: 0,
      retain: false,
      dup: false,
    } as Packet);
    expect(new PacketSizeGuard(100_000, 1024).feed(Buffer.concat([connect(), publish]))).toBeUndefined();
  });
});
