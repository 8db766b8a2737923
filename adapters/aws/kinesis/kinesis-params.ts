// Kinesis inputs that JSON and CBOR carry differently: blobs (base64 text in JSON, byte strings in
// CBOR) and timestamps (epoch seconds in JSON, tag-1 times in CBOR); and Kinesis's own validation
// error for a request that does not fit the API's constraints.
import { AwsError } from '../errors.ts';
import type { JsonObject } from '../model/shape.ts';

export const validation = (message: string): AwsError => new AwsError('ValidationException', message);

export function blob(input: JsonObject, name: string): Buffer {
  const v = input[name] as unknown;
  if (v === undefined || v === null)
    throw validation(`1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`);
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'string' && v.length % 4 === 0) {
    // Node skips what is not base64 as it decodes: a shorter result than the text promises is garbage.
    const b = Buffer.from(v, 'base64');
    const padding = v.endsWith('==') ? 2 : v.endsWith('=') ? 1 : 0;
    if (b.length === (v.length / 4) * 3 - padding) return b;
  }
  throw new AwsError('SerializationException', `${name} must be a base64-encoded blob`);
}

/** A timestamp in ms; undefined when absent. */
export function timestamp(input: JsonObject, name: string): number | undefined {
  const v = input[name] as unknown;
  if (v === undefined || v === null) return undefined;
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number' && Number.isFinite(v)) return Math.round(v * 1000);
  if (typeof v === 'string') {
    const n = Number(v);
    if (v !== '' && Number.isFinite(n)) return Math.round(n * 1000);
    const t = Date.parse(v);
    if (Number.isFinite(t)) return t;
  }
  throw new AwsError('SerializationException', `${name} must be a timestamp`);
}
