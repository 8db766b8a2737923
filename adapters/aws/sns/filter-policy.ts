// SNS subscription filter policies: checked when a subscription sets one (AWS's rules and limits,
// its InvalidParameter messages), then matched against each message, on its attributes
// (FilterPolicyScope MessageAttributes) or its JSON body (MessageBody, with nested keys). Matching
// follows AWS's: every key of the policy must match (AND), any of a key's values may (OR), `$or`
// picks among whole sub-policies; the operators are exact strings and numbers, prefix, suffix,
// equals-ignore-case, anything-but, numeric ranges, exists and cidr. An array value in the
// message (String.Array attributes, arrays in the body) matches when any element does. Written by
// hand: no maintained npm package implements SNS's filter policy language.
import { isIP } from 'node:net';

export type Scope = 'MessageAttributes' | 'MessageBody';

/** A filter policy's problem, worded as SNS words it. */
export class FilterPolicyError extends Error {
  constructor(message: string) {
    super(`Invalid parameter: FilterPolicy: ${message}`);
    this.name = 'FilterPolicyError';
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A condition on one value. */
type Condition =
  | { kind: 'exact'; value: string | number | null }
  | { kind: 'prefix'; value: string; ignoreCase: boolean }
  | { kind: 'suffix'; value: string; ignoreCase: boolean }
  | { kind: 'ignore-case'; value: string }
  | { kind: 'anything-but'; values: Array<string | number>; prefix?: string; suffix?: string }
  | { kind: 'numeric'; ranges: Array<[string, number]> }
  | { kind: 'exists'; value: boolean }
  | { kind: 'cidr'; network: bigint; mask: bigint; v6: boolean };

/** A compiled policy: each key's conditions (any may match), all keys required; or alternatives. */
interface Node {
  keys: Map<string, Condition[] | Node>;
  or: Node[][];
}

export interface FilterPolicy {
  readonly scope: Scope;
  matches(attributes: ReadonlyMap<string, AttributeValue>, body: string): boolean;
}

export interface AttributeValue {
  /** String, String.Array, Number, Binary (and custom suffixes). */
  type: string;
  value: string;
}

const MAX_KEYS = 5;
const MAX_COMBINATIONS = 150;
const MAX_DEPTH = 5;
const MAX_POLICY_BYTES = 256 * 1024;

export function compileFilterPolicy(text: string, scope: Scope): FilterPolicy {
  if (Buffer.byteLength(text) > MAX_POLICY_BYTES) throw new FilterPolicyError('Filter policy is too long');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new FilterPolicyError('failed to parse JSON');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new FilterPolicyError('Filter policy must be a JSON object');
  const root = compileNode(doc as Record<string, Json>, scope, 1);
  const keys = countKeys(root);
  if (scope === 'MessageAttributes' && keys > MAX_KEYS)
    throw new FilterPolicyError(`Filter policy can not have more than ${MAX_KEYS} keys`);
  if (combinations(root) > MAX_COMBINATIONS)
    throw new FilterPolicyError(`Filter policy is too complex (more than ${MAX_COMBINATIONS} combinations)`);
  return {
    scope,
    matches: (attributes, body) => {
      if (scope === 'MessageAttributes') return matchAttributes(root, attributes);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return false;
      }
      return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && matchBody(root, parsed as Record<string, Json>);
    },
  };
}

function compileNode(doc: Record<string, Json>, scope: Scope, depth: number): Node {
  if (depth > MAX_DEPTH) throw new FilterPolicyError(`Filter policy can not be nested deeper than ${MAX_DEPTH} levels`);
  const node: Node = { keys: new Map(), or: [] };
  const entries = Object.entries(doc);
  if (entries.length === 0) throw new FilterPolicyError('Filter policy can not be empty');
  for (const [key, value] of entries) {
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2) throw new FilterPolicyError('$or must be an array of at least two objects');
      node.or.push(
        value.map((alt) => {
          if (alt === null || typeof alt !== 'object' || Array.isArray(alt)) throw new FilterPolicyError('$or must be an array of objects');
          return compileNode(alt, scope, depth + 1);
        }),
      );
      continue;
    }
    if (Array.isArray(value)) {
      if (value.length === 0) throw new FilterPolicyError(`Empty arrays are not allowed (key ${key})`);
      node.keys.set(
        key,
        value.map((v) => compileCondition(key, v)),
      );
    } else if (value !== null && typeof value === 'object' && scope === 'MessageBody') {
      node.keys.set(key, compileNode(value, scope, depth + 1));
    } else {
      throw new FilterPolicyError(`"${key}" must be an object or an array`);
    }
  }
  return node;
}

function compileCondition(key: string, v: Json): Condition {
  if (v === null || typeof v === 'string' || typeof v === 'number') return { kind: 'exact', value: v };
  if (typeof v === 'boolean' || Array.isArray(v))
    throw new FilterPolicyError(`Match value must be String, number, true, false, or null (key ${key})`);
  const ops = Object.entries(v);
  if (ops.length !== 1) throw new FilterPolicyError(`Only one operator is allowed in a condition (key ${key})`);
  const [op, arg] = ops[0] as [string, Json];
  switch (op) {
    case 'prefix':
    case 'suffix': {
      if (typeof arg === 'string' && arg !== '') return { kind: op, value: arg, ignoreCase: false };
      if (arg !== null && typeof arg === 'object' && !Array.isArray(arg) && typeof arg['equals-ignore-case'] === 'string') {
        return { kind: op, value: (arg['equals-ignore-case'] as string).toLowerCase(), ignoreCase: true };
      }
      throw new FilterPolicyError(`${op} match pattern must be a non-empty string (key ${key})`);
    }
    case 'equals-ignore-case':
      if (typeof arg !== 'string') throw new FilterPolicyError(`equals-ignore-case match pattern must be a string (key ${key})`);
      return { kind: 'ignore-case', value: arg.toLowerCase() };
    case 'anything-but':
      return anythingBut(key, arg);
    case 'numeric':
      return numeric(key, arg);
    case 'exists':
      if (typeof arg !== 'boolean') throw new FilterPolicyError(`exists match pattern must be either true or false (key ${key})`);
      return { kind: 'exists', value: arg };
    case 'cidr':
      return cidr(key, arg);
    default:
      throw new FilterPolicyError(`Unrecognized match type ${op}`);
  }
}

function anythingBut(key: string, arg: Json): Condition {
  if (typeof arg === 'string' || typeof arg === 'number') return { kind: 'anything-but', values: [arg] };
  if (Array.isArray(arg)) {
    if (arg.length === 0 || arg.some((x) => typeof x !== 'string' && typeof x !== 'number')) {
      throw new FilterPolicyError(`Inside anything-but list, only strings and numbers are allowed (key ${key})`);
    }
    return { kind: 'anything-but', values: arg as Array<string | number> };
  }
  if (arg !== null && typeof arg === 'object') {
    if (typeof arg.prefix === 'string' && arg.prefix !== '') return { kind: 'anything-but', values: [], prefix: arg.prefix };
    if (typeof arg.suffix === 'string' && arg.suffix !== '') return { kind: 'anything-but', values: [], suffix: arg.suffix };
  }
  throw new FilterPolicyError(`anything-but must be a string, a number, a list of them, or a prefix or suffix (key ${key})`);
}

function numeric(key: string, arg: Json): Condition {
  if (!Array.isArray(arg) || arg.length === 0 || arg.length % 2 !== 0) {
    throw new FilterPolicyError(`Value of numeric must be an array of operator and value pairs (key ${key})`);
  }
  const ranges: Array<[string, number]> = [];
  for (let i = 0; i < arg.length; i += 2) {
    const op = arg[i];
    const n = arg[i + 1];
    if (typeof op !== 'string' || !['=', '<', '<=', '>', '>='].includes(op))
      throw new FilterPolicyError(`Unrecognized numeric range operator: ${String(op)}`);
    if (typeof n !== 'number' || !Number.isFinite(n) || Math.abs(n) > 1e9)
      throw new FilterPolicyError(`Value of ${op} must be numeric between -1e9 and 1e9`);
    ranges.push([op, n]);
  }
  if (ranges.length > 2 || (ranges.length === 2 && (ranges.some(([o]) => o === '=') || lower(ranges[0]?.[0]) === lower(ranges[1]?.[0])))) {
    throw new FilterPolicyError(`Bad numeric range (key ${key})`);
  }
  const lo = ranges.find(([o]) => o === '>' || o === '>=');
  const hi = ranges.find(([o]) => o === '<' || o === '<=');
  if (lo && hi && lo[1] >= hi[1]) throw new FilterPolicyError(`Bottom must be less than top (key ${key})`);
  return { kind: 'numeric', ranges };
}

function lower(op: string | undefined): boolean {
  return op === '>' || op === '>=';
}

function cidr(key: string, arg: Json): Condition {
  const m = typeof arg === 'string' ? /^([^/]+)\/(\d{1,3})$/.exec(arg) : null;
  const ip = m?.[1];
  const bits = Number(m?.[2]);
  const family = ip !== undefined ? isIP(ip) : 0;
  if (!m || family === 0 || bits > (family === 4 ? 32 : 128)) throw new FilterPolicyError(`Malformed CIDR, one '/' required (key ${key})`);
  const width = family === 4 ? 32 : 128;
  const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
  return { kind: 'cidr', network: ipValue(ip as string) & mask, mask, v6: family === 6 };
}

function ipValue(ip: string): bigint {
  if (isIP(ip) === 4) return ip.split('.').reduce((n, p) => (n << 8n) + BigInt(Number(p)), 0n);
  const [head = '', tail = ''] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = ip.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.reduce((n, g) => (n << 16n) + BigInt(parseInt(g || '0', 16)), 0n);
}

function countKeys(n: Node): number {
  let k = n.keys.size;
  for (const alts of n.or) k += Math.max(...alts.map(countKeys));
  return k;
}

function combinations(n: Node): number {
  let c = 1;
  for (const v of n.keys.values()) c *= Array.isArray(v) ? v.length : combinations(v);
  for (const alts of n.or) c *= alts.reduce((s, a) => s + combinations(a), 0);
  return c;
}

// ---- matching -------------------------------------------------------------------------------

function matchAttributes(n: Node, attributes: ReadonlyMap<string, AttributeValue>): boolean {
  for (const [key, conds] of n.keys) {
    if (!Array.isArray(conds)) return false;
    const a = attributes.get(key);
    if (!conds.some((c) => attributeMatches(c, a))) return false;
  }
  return n.or.every((alts) => alts.some((alt) => matchAttributes(alt, attributes)));
}

function attributeMatches(c: Condition, a: AttributeValue | undefined): boolean {
  if (c.kind === 'exists') return c.value === (a !== undefined);
  if (a === undefined || a.type.startsWith('Binary')) return false;
  if (a.type.startsWith('String.Array')) {
    let items: unknown;
    try {
      items = JSON.parse(a.value);
    } catch {
      return false;
    }
    if (!Array.isArray(items)) return false;
    return items.some((x) => (typeof x === 'string' || typeof x === 'number' ? valueMatches(c, x) : false));
  }
  if (a.type.startsWith('Number')) {
    const n = Number(a.value);
    return Number.isFinite(n) ? valueMatches(c, n) : false;
  }
  return valueMatches(c, a.value);
}

function matchBody(n: Node, doc: Record<string, Json>): boolean {
  for (const [key, conds] of n.keys) {
    const v = Object.prototype.hasOwnProperty.call(doc, key) ? doc[key] : undefined;
    if (Array.isArray(conds)) {
      if (!conds.some((c) => bodyMatches(c, v))) return false;
    } else {
      const objects = (Array.isArray(v) ? v : [v]).filter(
        (x): x is Record<string, Json> => x !== null && typeof x === 'object' && !Array.isArray(x),
      );
      if (!objects.some((o) => matchBody(conds, o))) return false;
    }
  }
  return n.or.every((alts) => alts.some((alt) => matchBody(alt, doc)));
}

function bodyMatches(c: Condition, v: Json | undefined): boolean {
  if (c.kind === 'exists') return c.value === (v !== undefined && !(v !== null && typeof v === 'object' && !Array.isArray(v)));
  if (v === undefined) return false;
  const items = Array.isArray(v) ? v : [v];
  return items.some((x) => {
    if (x === null) return c.kind === 'exact' && c.value === null;
    return typeof x === 'string' || typeof x === 'number' ? valueMatches(c, x) : false;
  });
}

function valueMatches(c: Condition, v: string | number): boolean {
  switch (c.kind) {
    case 'exact':
      return typeof v === 'number' && typeof c.value === 'number' ? v === c.value : c.value === v;
    case 'prefix':
      return typeof v === 'string' && (c.ignoreCase ? v.toLowerCase().startsWith(c.value) : v.startsWith(c.value));
    case 'suffix':
      return typeof v === 'string' && (c.ignoreCase ? v.toLowerCase().endsWith(c.value) : v.endsWith(c.value));
    case 'ignore-case':
      return typeof v === 'string' && v.toLowerCase() === c.value;
    case 'anything-but':
      if (c.prefix !== undefined) return typeof v === 'string' && !v.startsWith(c.prefix);
      if (c.suffix !== undefined) return typeof v === 'string' && !v.endsWith(c.suffix);
      return !c.values.some((x) => x === v);
    case 'numeric': {
      if (typeof v !== 'number') return false;
      return c.ranges.every(([op, n]) => (op === '=' ? v === n : op === '<' ? v < n : op === '<=' ? v <= n : op === '>' ? v > n : v >= n));
    }
    case 'cidr': {
      if (typeof v !== 'string') return false;
      const family = isIP(v);
      if (family === 0 || (family === 6) !== c.v6) return false;
      return (ipValue(v) & c.mask) === c.network;
    }
    case 'exists':
      return c.value;
  }
}
