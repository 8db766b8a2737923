// Encoding of stored records: messages (with their binary bodies) as MessagePack, small records
// (entry state, subscriptions, sessions) as JSON so they stay readable in redis-cli.
import { Packr } from 'msgpackr';
import type { Message } from '../../core/message.ts';

const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeMessage(m: Message): Buffer {
  return packr.pack(m);
}

export function decodeMessage(b: Buffer): Message {
  return packr.unpack(b) as Message;
}
