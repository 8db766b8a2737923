// AWS's event-stream framing (application/vnd.amazon.eventstream), in which an operation such as
// Kinesis's SubscribeToShard answers with a series of events on one response. Each message: its
// total length and its headers' length (4 bytes each, big-endian), a CRC32 of those 8 bytes, the
// headers (name length, name, type 7 = string, value length in 2 bytes, value), the payload, and a
// CRC32 of all before it. Written by hand: the Smithy packages that encode it are the SDKs' internals
// for the client side, and it is these few lines.
import { crc32 } from 'node:zlib';

function header(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'utf8');
  const v = Buffer.from(value, 'utf8');
  const b = Buffer.allocUnsafe(1 + n.length + 1 + 2 + v.length);
  b.writeUInt8(n.length, 0);
  n.copy(b, 1);
  b.writeUInt8(7, 1 + n.length);
  b.writeUInt16BE(v.length, 2 + n.length);
  v.copy(b, 4 + n.length);
  return b;
}

function message(headers: Buffer, payload: Buffer): Buffer {
  const total = 12 + headers.length + payload.length + 4;
  const out = Buffer.allocUnsafe(total);
  out.writeUInt32BE(total, 0);
  out.writeUInt32BE(headers.length, 4);
  out.writeUInt32BE(crc32(out.subarray(0, 8)), 8);
  headers.copy(out, 12);
  payload.copy(out, 12 + headers.length);
  out.writeUInt32BE(crc32(out.subarray(0, total - 4)), total - 4);
  return out;
}

/** One message of an event stream: an event of `type` (`:message-type` event) carrying `payload`. */
export function eventMessage(type: string, payload: Buffer, contentType: string): Buffer {
  return message(
    Buffer.concat([header(':event-type', type), header(':content-type', contentType), header(':message-type', 'event')]),
    payload,
  );
}

/** An exception in an event stream (`:message-type` exception), as the SDKs raise it. */
export function exceptionMessage(code: string, text: string): Buffer {
  return message(
    Buffer.concat([header(':exception-type', code), header(':content-type', 'application/json'), header(':message-type', 'exception')]),
    Buffer.from(JSON.stringify({ message: text })),
  );
}
