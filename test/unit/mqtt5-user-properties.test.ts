// The MQTT 5 engine keeps the order of User Properties, which mqtt-packet groups by name: checked
// against mqtt-packet's own encoder and parser with arbitrary lists of pairs, repeats included.
import fc from 'fast-check';
import mqttPacket, { type IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import {
  grouped,
  keepUserPropertyOrder,
  needsReorder,
  reorderEncodedPublish,
  scanUserProperties,
  USER_PROPERTY_ORDER,
  type UserPropertyList,
} from '../../adapters/mqtt/user-properties.ts';

const pairs = fc.array(fc.tuple(fc.constantFrom('a', 'b', 'site', 'é', ''), fc.string({ maxLength: 6 })), { minLength: 1, maxLength: 12 });

function encode(list: UserPropertyList, qos: 0 | 1 | 2): Buffer {
  const packet: IPublishPacket = {
    cmd: 'publish',
    topic: 't/x',
    payload: Buffer.from('p'),
    qos,
    dup: false,
    retain: false,
    ...(qos > 0 ? { messageId: 9 } : {}),
    properties: { contentType: 'text/plain', userProperties: grouped(list), messageExpiryInterval: 60 },
  };
  return mqttPacket.generate(packet, { protocolVersion: 5 });
}

function parse(bytes: Buffer): IPublishPacket {
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  keepUserPropertyOrder(parser);
  const got: IPublishPacket[] = [];
  parser.on('packet', (p) => got.push(p as IPublishPacket));
  parser.on('error', (err) => {
    throw err;
  });
  parser.parse(bytes);
  expect(got).toHaveLength(1);
  return got[0] as IPublishPacket;
}

describe('MQTT 5 User Property order', () => {
  it('an encoded PUBLISH rewritten in order parses back to the same pairs in the same order', () => {
    fc.assert(
      fc.property(pairs, fc.constantFrom(0, 1, 2), (list, qos) => {
        const bytes = reorderEncodedPublish(encode(list, qos as 0 | 1 | 2), list);
        const p = parse(bytes);
        const props = p.properties as Record<symbol, unknown> & NonNullable<IPublishPacket['properties']>;
        const order =
          (props[USER_PROPERTY_ORDER] as UserPropertyList | undefined) ??
          Object.entries(props.userProperties ?? {}).flatMap(([k, v]) =>
            (Array.isArray(v) ? v : [v]).map((x) => [k, x] as [string, string]),
          );
        expect(order).toEqual(list);
        expect([p.topic, props.contentType, props.messageExpiryInterval]).toEqual(['t/x', 'text/plain', 60]);
        if (needsReorder(list)) expect(props[USER_PROPERTY_ORDER]).toBeDefined();
      }),
    );
  });

  it('scanning a cut or corrupted property section only ever throws RangeError', () => {
    fc.assert(
      fc.property(pairs, fc.nat(), fc.nat(255), (list, cut, noise) => {
        const bytes = encode(list, 0);
        const damaged = Buffer.from(bytes.subarray(0, 1 + (cut % bytes.length)));
        if (damaged.length > 8) damaged[8 + (cut % (damaged.length - 8))] = noise;
        try {
          scanUserProperties(damaged, 7);
        } catch (err) {
          expect(err).toBeInstanceOf(RangeError);
        }
      }),
    );
  });
});
