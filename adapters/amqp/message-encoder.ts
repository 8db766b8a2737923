// The AMQP 1.0 encoding (§3.2) of a core message that came from another protocol, written straight
// into bytes: header, message-annotations, properties, application-properties and the body, the
// same bytes rhea's message.encode gives for the message conversion.ts maps (a property test holds
// the two equal). Written by hand because rhea wraps every field and value in a typed object and
// grows its buffer as it goes: that was a quarter of the broker's time when MQTT publishers fed AMQP
// receivers. What this does not cover (ids restored to a uuid, ulong or binary type, a symbol that
// is not ASCII, a value of another type) answers undefined, and rhea encodes that message.
const DESCRIBED = 0x00;
const SMALL_ULONG = 0x53;
const NULL = 0x40;
const TRUE = 0x41;
const FALSE = 0x42;
const UINT0 = 0x43;
const UBYTE = 0x50;
const SMALL_UINT = 0x52;
const SMALL_INT = 0x54;
const UINT = 0x70;
const INT = 0x71;
const ULONG = 0x80;
const LONG = 0x81;
const DOUBLE = 0x82;
const TIMESTAMP = 0x83;
const VBIN8 = 0xa0;
const STR8 = 0xa1;
const SYM8 = 0xa3;
const VBIN32 = 0xb0;
const STR32 = 0xb1;
const SYM32 = 0xb3;
const LIST32 = 0xd0;
const MAP32 = 0xd1;

const TWO_32 = 4294967296;
/** rhea's bounds for a JS number: below 2^32 a uint, above -2^31+1 an int, else ulong or long. */
const MIN_INT = -2147483647;

/** The fields of the message conversion.ts maps, as values the encoder writes. */
export interface MappedMessage {
  durable: boolean;
  priority: number;
  ttl?: number;
  firstAcquirer: boolean;
  deliveryCount: number;
  messageId: unknown;
  to: string;
  subject?: string;
  replyTo?: string;
  correlationId?: unknown;
  contentType?: string;
  absoluteExpiryTime?: number;
  creationTime: number;
  groupId?: string;
  annotations: Readonly<Record<string, number>>;
  applicationProperties?: Readonly<Record<string, unknown>>;
  /** A text body goes as an amqp-value string, any other as one data section. */
  body: string | Uint8Array;
}

/** Does not fit the encoder: the message goes through rhea. */
class Unencodable extends Error {}

export class ByteWriter {
  buf = Buffer.allocUnsafe(16 * 1024);
  pos = 0;

  reset(): void {
    this.pos = 0;
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  /** A signed 64-bit integer, as rhea writes a number into a long or timestamp. */
  i64(v: number): void {
    this.ensure(8);
    if (v >= 0) {
      this.buf.writeUInt32BE(Math.floor(v / TWO_32), this.pos);
      this.buf.writeUInt32BE(v % TWO_32, this.pos + 4);
    } else {
      this.buf.writeBigInt64BE(BigInt(Math.trunc(v)), this.pos);
    }
    this.pos += 8;
  }

  /** A described value's constructor: 0x00, then the descriptor as a small ulong. */
  section(code: number): void {
    this.ensure(3);
    this.buf[this.pos++] = DESCRIBED;
    this.buf[this.pos++] = SMALL_ULONG;
    this.buf[this.pos++] = code;
  }

  /** Starts a list32 or map32 of `count` items; the answer is where its size goes. */
  compound(code: number, count: number): number {
    this.u8(code);
    const at = this.pos;
    this.u32(0);
    this.u32(count);
    return at;
  }

  endCompound(at: number): void {
    this.buf.writeUInt32BE(this.pos - at - 4, at);
  }

  boolean(v: boolean): void {
    this.u8(v ? TRUE : FALSE);
  }

  uint(v: number): void {
    if (v === 0) this.u8(UINT0);
    else if (v > 255) {
      this.u8(UINT);
      this.u32(v);
    } else {
      this.u8(SMALL_UINT);
      this.u8(v);
    }
  }

  string(s: string): void {
    const n = Buffer.byteLength(s);
    if (n > 255) {
      this.u8(STR32);
      this.u32(n);
    } else {
      this.u8(STR8);
      this.u8(n);
    }
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
  }

  symbol(s: string): void {
    for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) throw new Unencodable();
    if (s.length > 255) {
      this.u8(SYM32);
      this.u32(s.length);
    } else {
      this.u8(SYM8);
      this.u8(s.length);
    }
    this.ensure(s.length);
    this.pos += this.buf.write(s, this.pos, s.length, 'latin1');
  }

  binary(b: Uint8Array): void {
    if (b.length > 255) {
      this.u8(VBIN32);
      this.u32(b.length);
    } else {
      this.u8(VBIN8);
      this.u8(b.length);
    }
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  timestamp(ms: number): void {
    this.u8(TIMESTAMP);
    this.i64(ms);
  }

  /** A message or correlation id held as a string; any other (a typed uuid, ulong or binary) is rhea's to write. */
  messageId(v: unknown): void {
    if (typeof v === 'string') this.string(v);
    else throw new Unencodable();
  }

  /** A JS value the way rhea's types.wrap encodes it, for the values properties hold. */
  value(v: unknown): void {
    if (typeof v === 'string') this.string(v);
    else if (typeof v === 'boolean') this.boolean(v);
    else if (typeof v === 'number') this.number(v);
    else throw new Unencodable();
  }

  private number(v: number): void {
    if (Number.isNaN(v)) this.u8(NULL);
    else if (Math.floor(v) - v !== 0) {
      this.u8(DOUBLE);
      this.ensure(8);
      this.buf.writeDoubleBE(v, this.pos);
      this.pos += 8;
    } else if (v > 0) {
      if (v < TWO_32) this.uint(v);
      else {
        this.u8(ULONG);
        this.i64(v);
      }
    } else if (v > MIN_INT) {
      if (v < -128) {
        this.u8(INT);
        this.ensure(4);
        this.buf.writeInt32BE(v, this.pos);
        this.pos += 4;
      } else {
        this.u8(SMALL_INT);
        this.ensure(1);
        this.buf.writeInt8(v, this.pos++);
      }
    } else {
      this.u8(LONG);
      this.i64(v);
    }
  }

  /** A copy of what was written. */
  bytes(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }
}

const writer = new ByteWriter();

function writeMessage(w: ByteWriter, m: MappedMessage): void {
  w.section(0x70);
  const header = w.compound(LIST32, 5);
  w.boolean(m.durable);
  w.u8(UBYTE);
  w.u8(m.priority);
  if (m.ttl === undefined) w.u8(NULL);
  else w.uint(m.ttl);
  w.boolean(m.firstAcquirer);
  w.uint(m.deliveryCount);
  w.endCompound(header);

  w.section(0x72);
  const keys = Object.keys(m.annotations);
  const annotations = w.compound(MAP32, keys.length * 2);
  for (const k of keys) {
    w.symbol(k);
    w.value(m.annotations[k]);
  }
  w.endCompound(annotations);

  w.section(0x73);
  const properties = w.compound(LIST32, m.groupId !== undefined ? 11 : 10);
  w.messageId(m.messageId);
  w.u8(NULL); // user-id
  w.string(m.to);
  if (m.subject === undefined) w.u8(NULL);
  else w.string(m.subject);
  if (m.replyTo === undefined) w.u8(NULL);
  else w.string(m.replyTo);
  if (m.correlationId === undefined) w.u8(NULL);
  else w.messageId(m.correlationId);
  if (m.contentType === undefined) w.u8(NULL);
  else w.symbol(m.contentType);
  w.u8(NULL); // content-encoding
  if (m.absoluteExpiryTime === undefined) w.u8(NULL);
  else w.timestamp(m.absoluteExpiryTime);
  w.timestamp(m.creationTime);
  if (m.groupId !== undefined) w.string(m.groupId);
  w.endCompound(properties);

  const props = m.applicationProperties;
  if (props) {
    w.section(0x74);
    const names = Object.keys(props);
    const at = w.compound(MAP32, names.length * 2);
    for (const k of names) {
      w.string(k);
      w.value(props[k]);
    }
    w.endCompound(at);
  }

  if (typeof m.body === 'string') {
    w.section(0x77);
    w.string(m.body);
  } else {
    w.section(0x75);
    w.binary(m.body);
  }
}

/** The message's encoding, or undefined when it holds something only rhea encodes. */
export function encodeMapped(m: MappedMessage): Buffer | undefined {
  writer.reset();
  try {
    writeMessage(writer, m);
  } catch (err) {
    if (err instanceof Unencodable) return undefined;
    throw err;
  }
  return writer.bytes();
}
