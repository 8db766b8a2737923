// Encoding of stored records: messages (with their binary bodies) as MessagePack, small records
// (entry state, subscriptions, sessions) as JSON so they stay readable in redis-cli.
import { Packr } from 'msgpackr';
import type { Message } from '../../core/message.ts';
import { offsetWithin } from '../../shared/byte-views.ts';
import type { EntryState } from '../store.ts';

const packr = new Packr({ useRecords: false, moreTypes: false });

/**
 * A body that lies inside the message's original encoding (an AMQP data section) is stored once,
 * as its place in the original: `bodyAt` = [offset, length].
 */
interface PackedMessage extends Omit<Message, 'body'> {
  body?: Uint8Array;
  bodyAt?: [number, number];
}

export function encodeMessage(m: Message): Buffer {
  const at = m.original ? offsetWithin(m.body, m.original.bytes) : -1;
  if (at < 0) return packr.pack(m);
  const { body, ...rest } = m;
  const packed: PackedMessage = { ...rest, bodyAt: [at, body.byteLength] };
  return packr.pack(packed);
}

export function decodeMessage(b: Buffer): Message {
  const p = packr.unpack(b) as PackedMessage;
  if (p.bodyAt === undefined || !p.original) return p as Message;
  const [at, length] = p.bodyAt;
  const { bodyAt: _at, ...rest } = p;
  return { ...rest, body: p.original.bytes.subarray(at, at + length) };
}

/** The initial state (never delivered, due now, no annotations) is stored as nothing at all. */
export function encodeState(s: EntryState): string {
  if (s.deliveryCount === 0 && s.deliverAt === 0 && !s.delivered && s.annotations === undefined) return '';
  return JSON.stringify(s);
}

export function decodeState(b: Buffer): EntryState {
  if (b.length === 0) return { deliveryCount: 0, deliverAt: 0, delivered: false };
  return JSON.parse(b.toString()) as EntryState;
}
