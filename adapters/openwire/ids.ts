// The ids an OpenWire client gives its objects (ConnectionId, SessionId, ProducerId, ConsumerId,
// MessageId, the transaction ids) and the keys the adapter files them under.
import type { Struct } from './layout-types.ts';

export const CONNECTION_ID = 120;
export const SESSION_ID = 121;
export const CONSUMER_ID = 122;
export const PRODUCER_ID = 123;
export const MESSAGE_ID = 110;
export const BROKER_ID = 124;
export const LOCAL_TRANSACTION_ID = 111;
export const XA_TRANSACTION_ID = 112;

export interface WireId extends Struct {
  readonly connectionId?: string;
  readonly sessionId?: number;
  readonly value?: string | number;
}

export interface WireMessageId extends Struct {
  readonly textView?: string | null;
  readonly producerId: WireId | null;
  readonly producerSequenceId: number;
  readonly brokerSequenceId: number;
}

/** A key for a session, producer or consumer id (or a connection id), unique on its connection. */
export function idKey(id: Struct | null | undefined): string {
  if (!id) return '';
  const w = id as WireId;
  switch (id.dataType) {
    case CONNECTION_ID:
      return String(w.value);
    case SESSION_ID:
      return `${w.connectionId}:${w.value}`;
    case PRODUCER_ID:
    case CONSUMER_ID:
      return `${w.connectionId}:${w.sessionId}:${w.value}`;
    case LOCAL_TRANSACTION_ID:
      return `TX:${(id.connectionId as WireId | null)?.value}:${id.value as number}`;
    case XA_TRANSACTION_ID:
      return `XID:${id.formatId as number}:${Buffer.from(id.globalTransactionId as Uint8Array).toString('hex')}:${Buffer.from(id.branchQualifier as Uint8Array).toString('hex')}`;
    default:
      return `${id.dataType}`;
  }
}

/** The JMSMessageID text ActiveMQ shows for a message id. */
export function messageIdText(id: WireMessageId): string {
  if (id.textView) return id.textView.startsWith('ID:') ? id.textView : `ID:${id.textView}`;
  const p = id.producerId;
  return `${p?.connectionId}:${p?.sessionId}:${p?.value}:${id.producerSequenceId}`;
}

/**
 * A message id for a JMSMessageID text: ActiveMQ's own form (ID:<connection>:<session>:<producer>:<n>)
 * splits back into its parts, so older clients without the text view see the same id; any other
 * text rides in the text view. `brokerSequenceId` is the adapter's dispatch number.
 */
export function messageIdOf(text: string, brokerSequenceId: number): WireMessageId {
  const m = /^(.+):(\d+):(\d+):(\d+)$/.exec(text);
  if (m) {
    return {
      dataType: MESSAGE_ID,
      textView: text,
      producerId: producerIdOf(m[1] as string, Number(m[2]), Number(m[3])),
      producerSequenceId: Number(m[4]),
      brokerSequenceId,
    };
  }
  return { dataType: MESSAGE_ID, textView: text, producerId: producerIdOf(text, 0, 0), producerSequenceId: 0, brokerSequenceId };
}

/** Producer ids made before: one object per producer, so the codec's cache keys it once, not per message. */
const producers = new Map<string, WireId>();
const PRODUCERS_MAX = 10_000;

function producerIdOf(connectionId: string, sessionId: number, value: number): WireId {
  const key = `${connectionId}:${sessionId}:${value}`;
  let p = producers.get(key);
  if (!p) {
    if (producers.size >= PRODUCERS_MAX) producers.clear();
    p = { dataType: PRODUCER_ID, connectionId, value, sessionId };
    producers.set(key, p);
  }
  return p;
}
