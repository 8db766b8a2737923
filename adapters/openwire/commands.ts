// Type bytes and enumerations of the OpenWire commands the broker handles, and builders for the ones
// it sends (WireFormatInfo, BrokerInfo, Response, ExceptionResponse, MessageDispatch...).
import type { Struct } from './layout-types.ts';
import { encodeMap, type JavaValue } from './primitive-map.ts';

export const CMD = {
  WIREFORMAT_INFO: 1,
  BROKER_INFO: 2,
  CONNECTION_INFO: 3,
  SESSION_INFO: 4,
  CONSUMER_INFO: 5,
  PRODUCER_INFO: 6,
  TRANSACTION_INFO: 7,
  DESTINATION_INFO: 8,
  REMOVE_SUBSCRIPTION_INFO: 9,
  KEEP_ALIVE_INFO: 10,
  SHUTDOWN_INFO: 11,
  REMOVE_INFO: 12,
  CONTROL_COMMAND: 14,
  FLUSH_COMMAND: 15,
  CONNECTION_ERROR: 16,
  CONSUMER_CONTROL: 17,
  CONNECTION_CONTROL: 18,
  PRODUCER_ACK: 19,
  MESSAGE_PULL: 20,
  MESSAGE_DISPATCH: 21,
  MESSAGE_ACK: 22,
  RESPONSE: 30,
  EXCEPTION_RESPONSE: 31,
  DATA_ARRAY_RESPONSE: 33,
} as const;

export const ACK = { DELIVERED: 0, POISON: 1, STANDARD: 2, REDELIVERED: 3, INDIVIDUAL: 4, UNMATCHED: 5, EXPIRED: 6 } as const;

export const TX = { BEGIN: 0, PREPARE: 1, COMMIT_ONE_PHASE: 2, COMMIT_TWO_PHASE: 3, ROLLBACK: 4, RECOVER: 5, FORGET: 6, END: 7 } as const;

export const DESTINATION_OP = { ADD: 0, REMOVE: 1 } as const;

/** RemoveInfo.lastDeliveredSequenceId when the client cannot say. */
export const LAST_DELIVERED_UNKNOWN = -2;

const MAGIC = Buffer.from('ActiveMQ', 'latin1');

/** What the broker offers in its WireFormatInfo. */
export interface WireOffer {
  version: number;
  tight: boolean;
  cache: boolean;
  cacheSize: number;
  maxFrameSize: number;
  maxInactivityDurationMs: number;
  maxInactivityDurationInitialDelayMs: number;
  providerVersion: string;
}

export function wireFormatInfo(o: WireOffer): Struct {
  const props = new Map<string, JavaValue>([
    ['TightEncodingEnabled', { t: 'boolean', v: o.tight }],
    ['CacheEnabled', { t: 'boolean', v: o.cache }],
    ['CacheSize', { t: 'int', v: o.cacheSize }],
    ['SizePrefixDisabled', { t: 'boolean', v: false }],
    ['StackTraceEnabled', { t: 'boolean', v: false }],
    ['TcpNoDelayEnabled', { t: 'boolean', v: true }],
    ['MaxFrameSize', { t: 'long', v: o.maxFrameSize }],
    ['MaxInactivityDuration', { t: 'long', v: o.maxInactivityDurationMs }],
    ['MaxInactivityDurationInitalDelay', { t: 'long', v: o.maxInactivityDurationInitialDelayMs }],
    ['ProviderName', { t: 'string', v: 'Junction' }],
    ['ProviderVersion', { t: 'string', v: o.providerVersion }],
    ['PlatformDetails', { t: 'string', v: `Node.js ${process.version}` }],
  ]);
  return { dataType: CMD.WIREFORMAT_INFO, magic: MAGIC, version: o.version, marshalledProperties: encodeMap(props) };
}

export function isMagic(b: unknown): boolean {
  return b instanceof Uint8Array && Buffer.from(b).equals(MAGIC);
}

export function response(correlationId: number): Struct {
  return { dataType: CMD.RESPONSE, commandId: 0, responseRequired: false, correlationId };
}

export function exceptionResponse(correlationId: number, className: string, message: string): Struct {
  return { dataType: CMD.EXCEPTION_RESPONSE, commandId: 0, responseRequired: false, correlationId, exception: { className, message } };
}

export function connectionError(className: string, message: string): Struct {
  return { dataType: CMD.CONNECTION_ERROR, commandId: 0, responseRequired: false, exception: { className, message }, connectionId: null };
}

export function keepAlive(): Struct {
  return { dataType: CMD.KEEP_ALIVE_INFO, commandId: 0, responseRequired: false };
}
