// The bytes of an outbound MQTT 3.1/3.1.1 PUBLISH as two parts: a small header (fixed header,
// remaining length, topic, packet id) and the message body itself, untouched. Written by hand
// because mqtt-packet offers either generate(), which copies the payload into a new buffer for
// every subscriber, or writeToStream(), which writes four to six chunks per packet, each with its
// own cork and nextTick: neither lets one encoding serve every subscriber. A QoS 0 header is the
// same for every 3.1.1 subscriber of a message (`SharedHeaders` keeps the last one made); a QoS 1
// or 2 header differs only in its packet id.

import { varintBytes, writeVarint } from './varint.ts';

const MAX_REMAINING_LENGTH = 268_435_455;

/**
 * The header of a PUBLISH of `payloadBytes` on `topic` (already in MQTT form), ending where the
 * payload begins. `id` is the packet id (QoS 1 and 2). Throws a RangeError past MQTT's 256 MB.
 */
export function publishHeader(topic: Buffer, payloadBytes: number, qos: 0 | 1 | 2, retain: boolean, dup: boolean, id = 0): Buffer {
  const remaining = 2 + topic.length + (qos > 0 ? 2 : 0) + payloadBytes;
  if (remaining > MAX_REMAINING_LENGTH) throw new RangeError(`an MQTT packet holds at most 256 MB; this one needs ${remaining} bytes`);
  const size = 1 + varintBytes(remaining) + 2 + topic.length + (qos > 0 ? 2 : 0);
  const b = Buffer.allocUnsafe(size);
  // [MQTT-3.3.1-2] DUP is 0 on every QoS 0 message.
  b[0] = 0x30 | (dup && qos > 0 ? 0x08 : 0) | (qos << 1) | (retain ? 1 : 0);
  let at = writeVarint(b, 1, remaining);
  b.writeUInt16BE(topic.length, at);
  at += 2;
  at += topic.copy(b, at);
  if (qos > 0) b.writeUInt16BE(id, at);
  return b;
}

/**
 * The last message's QoS 0 header, reused while the same message goes to one subscriber after
 * another (the core delivers a message to each subscription in turn).
 */
export class SharedHeaders {
  private key: object | undefined;
  private retain = false;
  private header: Buffer | undefined;

  /** The QoS 0 header of message `key`, made once per message and retain flag. */
  qos0(key: object, topic: Buffer, payloadBytes: number, retain: boolean): Buffer {
    if (this.key === key && this.retain === retain && this.header) return this.header;
    this.header = publishHeader(topic, payloadBytes, 0, retain, false);
    this.key = key;
    this.retain = retain;
    return this.header;
  }
}
