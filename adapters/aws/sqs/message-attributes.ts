// SQS message attributes <-> the core's message properties, and the MD5 digest SQS gives of them.
// A String attribute is a string property and a Number one a number property (when the number
// reads back as the same text), so STOMP, AMQP and MQTT 5 clients see them as their own headers
// and properties. What a property cannot say (a Binary value, a custom type such as Number.float,
// a number written as 1.50) is kept in one more property, `_SQS_TYPES`, so that an SQS consumer
// gets every attribute back exactly as it was sent. Properties from other protocols come to SQS
// as String (text, booleans) or Number attributes.
import { createHash } from 'node:crypto';
import type { PropertyValue } from '../../../src/core/message.ts';
import { AwsError } from '../errors.ts';
import type { JsonObject, JsonValue } from '../model/shape.ts';

export const TYPES_PROPERTY = '_SQS_TYPES';
/** Properties that are the broker's or another protocol's bookkeeping, never SQS attributes. */
const HIDDEN = /^(_SQS_|_AMQ_|JMSX|JMS_|x-opt-|AMQ_SCHEDULED)/;
const MAX_ATTRIBUTES = 10;

export interface SqsAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

/** Checks and converts the MessageAttributes of a send; throws AWS's InvalidParameterValue. */
export function attributesToProperties(given: JsonValue | undefined): { properties: Record<string, PropertyValue>; bytes: number } {
  const properties: Record<string, PropertyValue> = {};
  if (given === undefined || given === null) return { properties, bytes: 0 };
  if (typeof given !== 'object' || Array.isArray(given)) throw invalid('MessageAttributes must be a map.');
  const entries = Object.entries(given);
  if (entries.length > MAX_ATTRIBUTES)
    throw invalid(`Number of message attributes [${entries.length}] exceeds the allowed maximum [${MAX_ATTRIBUTES}].`);
  const types: Record<string, string> = {};
  let bytes = 0;
  for (const [name, raw] of entries) {
    checkName(name);
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      throw invalid(`The message attribute '${name}' must contain a DataType.`);
    const v = raw as JsonObject;
    const dataType = v.DataType;
    if (typeof dataType !== 'string' || dataType === '')
      throw invalid(`The message attribute '${name}' must contain a non-empty message attribute type.`);
    const base = dataType.split('.')[0];
    if (base !== 'String' && base !== 'Number' && base !== 'Binary') {
      throw invalid(
        `The type of message attribute '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`,
      );
    }
    if (dataType.length > 256) throw invalid(`Message attribute type of '${name}' is longer than 256 characters.`);
    bytes += Buffer.byteLength(name) + Buffer.byteLength(dataType);
    if (base === 'Binary') {
      const b = v.BinaryValue;
      if (typeof b !== 'string' || b === '') throw invalid(`The message attribute '${name}' with type 'Binary' must use field 'Binary'.`);
      bytes += Buffer.from(b, 'base64').length;
      properties[name] = b;
      types[name] = dataType;
      continue;
    }
    const s = v.StringValue;
    if (typeof s !== 'string' || s === '') throw invalid(`The message attribute '${name}' with type '${base}' must use field 'String'.`);
    bytes += Buffer.byteLength(s);
    if (base === 'Number') {
      const n = Number(s);
      if (s.trim() === '' || !Number.isFinite(n)) throw invalid(`Can't cast the value of message (user) attribute '${name}' to a number.`);
      if (dataType === 'Number' && String(n) === s) properties[name] = n;
      else {
        properties[name] = s;
        types[name] = dataType;
      }
    } else {
      properties[name] = s;
      if (dataType !== 'String') types[name] = dataType;
    }
  }
  if (Object.keys(types).length > 0) properties[TYPES_PROPERTY] = JSON.stringify(types);
  return { properties, bytes };
}

/** The SQS attributes a message's properties make (all of them; the receive picks which to answer). */
export function propertiesToAttributes(properties: Readonly<Record<string, PropertyValue>>): Record<string, SqsAttributeValue> {
  const out: Record<string, SqsAttributeValue> = {};
  let types: Record<string, string> = {};
  const t = properties[TYPES_PROPERTY];
  if (typeof t === 'string') {
    try {
      types = JSON.parse(t) as Record<string, string>;
    } catch {
      types = {};
    }
  }
  for (const [name, value] of Object.entries(properties)) {
    if (HIDDEN.test(name)) continue;
    const declared = types[name];
    if (declared !== undefined && declared.startsWith('Binary')) out[name] = { DataType: declared, BinaryValue: String(value) };
    else if (declared !== undefined) out[name] = { DataType: declared, StringValue: String(value) };
    else if (typeof value === 'number') out[name] = { DataType: 'Number', StringValue: String(value) };
    else out[name] = { DataType: 'String', StringValue: String(value) };
  }
  return out;
}

/** Which attributes a receive answers: `All`, `.*`, a prefix ending in `.*`, or names. */
export function pickAttributes(all: Record<string, SqsAttributeValue>, names: readonly string[]): Record<string, SqsAttributeValue> {
  if (names.length === 0) return {};
  if (names.includes('All') || names.includes('.*')) return all;
  const out: Record<string, SqsAttributeValue> = {};
  for (const [k, v] of Object.entries(all)) {
    if (names.some((n) => n === k || (n.endsWith('.*') && k.startsWith(n.slice(0, -1))))) out[k] = v;
  }
  return out;
}

/**
 * SQS's MD5OfMessageAttributes: over the attributes sorted by name, each as its name, type, a
 * transport byte (1 text, 2 binary) and value, every string and value preceded by its length.
 */
export function md5OfAttributes(attributes: Record<string, SqsAttributeValue>): string {
  const h = createHash('md5');
  const field = (b: Buffer): void => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    h.update(len);
    h.update(b);
  };
  for (const name of Object.keys(attributes).sort()) {
    const v = attributes[name] as SqsAttributeValue;
    field(Buffer.from(name, 'utf8'));
    field(Buffer.from(v.DataType, 'utf8'));
    if (v.BinaryValue !== undefined) {
      h.update(Buffer.from([2]));
      field(Buffer.from(v.BinaryValue, 'base64'));
    } else {
      h.update(Buffer.from([1]));
      field(Buffer.from(v.StringValue ?? '', 'utf8'));
    }
  }
  return h.digest('hex');
}

function checkName(name: string): void {
  if (
    name.length === 0 ||
    name.length > 256 ||
    !/^[A-Za-z0-9_.-]+$/.test(name) ||
    name.startsWith('.') ||
    name.endsWith('.') ||
    name.includes('..') ||
    /^(aws\.|amazon\.)/i.test(name)
  ) {
    throw invalid(
      `Message (user) attribute name '${name}' is invalid: use 1 to 256 of A-Z a-z 0-9 _ - . (no leading, trailing or repeated period; not starting with AWS. or Amazon.).`,
    );
  }
  if (HIDDEN.test(name)) throw invalid(`Message (user) attribute name '${name}' is reserved by the broker.`);
}

function invalid(message: string): AwsError {
  return new AwsError('InvalidParameterValue', message);
}
