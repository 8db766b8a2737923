// Encoding of stored records: messages (with their binary bodies) as MessagePack, small records
// (entry state, subscriptions, sessions) as JSON so they stay readable in redis-cli.
import { Packr } from 'msgpackr';
import type { Message } from '../../core/message.ts';
import type { EntryState } from '../store.ts';

const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeMessage(m: Message): Buffer {
  return packr.pack(m);
}

export function decodeMessage(b: Buffer): Message {
  return packr.unpack(b) as Message;
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
