// The frame of a transfer performative (AMQP 1.0 §2.7.5) with its payload, written straight into
// bytes: the same bytes rhea's frames.write_frame gives for the transfer its session makes (a
// property test holds the two equal). rhea builds each transfer as a composite of typed fields and
// encodes it through a fresh 1 KiB writer; with a receiver taking tens of thousands of messages a
// second that was most of what remained of rhea's cost. rhea-fixes.ts routes the transfers rhea's
// session sends here.
import { ByteWriter } from './message-encoder.ts';

const TRANSFER = 0x14;
const LIST32 = 0xd0;
const AMQP_FRAME = 0;
const DOFF = 2;

/** The fields rhea's session gives each transfer it sends. */
export interface TransferFields {
  handle: number;
  message_format: number;
  delivery_id: number;
  delivery_tag: Buffer;
  settled: boolean;
  more: boolean;
}

const writer = new ByteWriter();

export function encodeTransferFrame(channel: number, t: TransferFields, payload: Buffer | undefined): Buffer {
  const w = writer;
  w.reset();
  w.u32(0);
  w.u8(DOFF);
  w.u8(AMQP_FRAME);
  w.ensure(2);
  w.buf.writeUInt16BE(channel, w.pos);
  w.pos += 2;
  w.section(TRANSFER);
  const list = w.compound(LIST32, 6);
  w.uint(t.handle);
  w.uint(t.delivery_id);
  w.binary(t.delivery_tag);
  w.uint(t.message_format);
  w.boolean(t.settled);
  w.boolean(t.more);
  w.endCompound(list);
  const head = w.pos;
  const frame = Buffer.allocUnsafe(head + (payload?.length ?? 0));
  w.buf.copy(frame, 0, 0, head);
  payload?.copy(frame, head);
  frame.writeUInt32BE(frame.length, 0);
  return frame;
}
