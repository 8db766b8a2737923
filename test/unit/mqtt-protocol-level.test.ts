// Reading the protocol level of a CONNECT before aedes does: every CONNECT mqtt-packet writes (any
// level, any split point) reads back its level or asks for more bytes, and no input throws.
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { connectLevel } from '../../adapters/mqtt/protocol-level.ts';

describe('CONNECT protocol level', () => {
  it('reads the level of every CONNECT, or asks for more bytes when it is cut short', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(3, 4, 5),
        fc.string({ minLength: 1, maxLength: 23 }),
        fc.option(fc.string({ maxLength: 50 }), { nil: undefined }),
        fc.nat(),
        (level, clientId, username, cut) => {
          const packet = mqttPacket.generate({
            cmd: 'connect',
            protocolId: level === 3 ? 'MQIsdp' : 'MQTT',
            protocolVersion: level as 3 | 4 | 5,
            clientId,
            clean: true,
            keepalive: 30,
            ...(username !== undefined ? { username } : {}),
          });
          expect(connectLevel(packet)).toBe(level);
          const head = packet.subarray(0, cut % packet.length);
          const got = connectLevel(head);
          expect(got === undefined || got === level).toBe(true);
        },
      ),
    );
  });

  it('says not-connect for other packets and never throws on any bytes', () => {
    expect(connectLevel(mqttPacket.generate({ cmd: 'pingreq' }))).toBe('not-connect');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const r = connectLevel(Buffer.from(bytes));
        expect(r === undefined || r === 'not-connect' || typeof r === 'number').toBe(true);
      }),
    );
  });
});
