// Reading an operation's input (its JSON shape, whichever wire protocol carried it) with AWS's
// errors for what is missing or of the wrong kind.
import { AwsError, missingParameter } from './errors.ts';
import type { JsonObject, JsonValue } from './model/shape.ts';

export function requiredString(input: JsonObject, name: string): string {
  const v = input[name];
  if (v === undefined || v === null || v === '') throw missingParameter(name);
  if (typeof v !== 'string') throw wrongType(name, 'a string');
  return v;
}

export function optionalString(input: JsonObject, name: string): string | undefined {
  const v = input[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw wrongType(name, 'a string');
  return v;
}

export function optionalInt(input: JsonObject, name: string, min: number, max: number): number | undefined {
  const v = input[name];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^[-+]?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw wrongType(name, 'an integer');
  if (n < min || n > max) {
    throw new AwsError('InvalidParameterValue', `Value ${n} for parameter ${name} is invalid. Reason: must be between ${min} and ${max}.`);
  }
  return n;
}

export function optionalBool(input: JsonObject, name: string): boolean | undefined {
  const v = input[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw wrongType(name, 'a boolean');
}

export function stringList(input: JsonObject, name: string): string[] {
  const v = input[name];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw wrongType(name, 'a list of strings');
  return v as string[];
}

export function stringMap(input: JsonObject, name: string): Record<string, string> {
  const v = input[name];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw wrongType(name, 'a map');
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') throw wrongType(`${name}.${k}`, 'a string');
    out[k] = x;
  }
  return out;
}

export function objectList(input: JsonObject, name: string): JsonObject[] {
  const v = input[name];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => x === null || typeof x !== 'object' || Array.isArray(x)))
    throw wrongType(name, 'a list of structures');
  return v as JsonObject[];
}

export function isObject(v: JsonValue | undefined): v is JsonObject {
  return v !== undefined && v !== null && typeof v === 'object' && !Array.isArray(v);
}

function wrongType(name: string, what: string): AwsError {
  return new AwsError('InvalidParameterValue', `Value for parameter ${name} is invalid. Reason: must be ${what}.`);
}
