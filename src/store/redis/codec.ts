// Encoding of stored records: messages (with their binary bodies) as MessagePack, small records
// (entry state, subscriptions, sessions) as JSON so they stay readable in redis-cli; with
// security.encryption, messages, entry states and sessions are sealed (../sealer.ts).
import { Packr } from 'msgpackr';
import type { Destination } from '../../core/destination.ts';
import type { Message } from '../../core/message.ts';
import { offsetWithin } from '../../shared/byte-views.ts';
import { SealedRecordError } from '../../shared/errors.ts';
import { isSealed, type Sealer } from '../sealer.ts';
import type { EntryState, SecurityRecord, SessionRecord } from '../store.ts';

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

/** Something a sealed value in the store that does not open was refused for (logged, counted, left in place). */
export interface RefusedRecord {
  readonly what: 'message' | 'state' | 'session' | 'retained' | 'security';
  readonly where: string;
  readonly error: SealedRecordError;
}

/**
 * The codec the Redis store writes with: the plain encodings above, each value sealed when
 * `security.encryption` gives a keyring. A value's context binds it to its place: a message to its
 * id and destination, an entry's state to its queue and id, a session record to its id.
 */
export class RecordCodec {
  constructor(readonly sealer?: Sealer) {}

  message(m: Message): Buffer {
    const packed = encodeMessage(m);
    return this.sealer ? this.sealer.seal(packed, messageContext(m.id, m.destination)) : packed;
  }

  /** `id`: the id the value was found under, when the reply says it. */
  openMessage(b: Buffer, id?: string): Message {
    if (!isSealed(b)) return decodeMessage(b);
    const opened = this.opener().open(b);
    const m = decodeMessage(opened.plain);
    if (opened.context !== messageContext(m.id, m.destination) || (id !== undefined && m.id !== id)) {
      throw new SealedRecordError(`A sealed message does not belong where it was found (sealed for '${opened.context}')`, {
        ...(id !== undefined ? { id } : {}),
      });
    }
    return m;
  }

  /** Only a state with annotations is sealed: they carry what the message said (a dead-letter reason); counts and flags do not. */
  state(s: EntryState, queue: string, id: string): string | Buffer {
    const plain = encodeState(s);
    return this.sealer && s.annotations !== undefined ? this.sealer.seal(Buffer.from(plain), stateContext(queue, id)) : plain;
  }

  openState(b: Buffer, queue: string, id: string): EntryState {
    return decodeState(isSealed(b) ? this.opener().open(b, stateContext(queue, id)).plain : b);
  }

  session(s: SessionRecord): string | Buffer {
    const json = JSON.stringify(s);
    return this.sealer ? this.sealer.seal(Buffer.from(json), sessionContext(s.id)) : json;
  }

  openSession(b: Buffer, id: string): SessionRecord {
    const json = isSealed(b) ? this.opener().open(b, sessionContext(id)).plain : b;
    return JSON.parse(json.toString()) as SessionRecord;
  }

  security(r: SecurityRecord): string | Buffer {
    const json = JSON.stringify(r);
    return this.sealer ? this.sealer.seal(Buffer.from(json), SECURITY_CONTEXT) : json;
  }

  openSecurity(b: Buffer): SecurityRecord {
    const json = isSealed(b) ? this.opener().open(b, SECURITY_CONTEXT).plain : b;
    return JSON.parse(json.toString()) as SecurityRecord;
  }

  /** Reseals a value of any kind with the active key, keeping its context; plain values are sealed as they are. */
  reseal(b: Buffer, plainContext: () => string): Buffer {
    const sealer = this.opener();
    if (!isSealed(b)) return sealer.seal(b, plainContext());
    const opened = sealer.open(b);
    return sealer.seal(opened.plain, opened.context);
  }

  private opener(): Sealer {
    if (!this.sealer) throw new SealedRecordError('A sealed value was found, and security.encryption gives no keys to open it');
    return this.sealer;
  }
}

export function messageContext(id: string, d: Destination): string {
  return `message\n${id}\n${d.kind}://${d.name}`;
}

export function stateContext(queue: string, id: string): string {
  return `state\n${queue}\n${id}`;
}

export const SECURITY_CONTEXT = 'security';

export function sessionContext(id: string): string {
  return `session\n${id}`;
}
