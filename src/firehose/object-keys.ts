// Object keys for delivered batches, as Kinesis Data Firehose names them: the prefix with its
// expressions (`!{timestamp:<Java DateTimeFormatter pattern>}`, `!{firehose:random-string}`,
// `!{firehose:error-output-type}`), the default `YYYY/MM/DD/HH/` time part when a prefix has no
// expression, and the object name `<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>`. Times are UTC,
// of the oldest record in the object.
import { randomUUID } from 'node:crypto';

export class PrefixError extends Error {}

type Part = { literal: string } | { timestamp: DateToken[] } | { firehose: 'random-string' | 'error-output-type' };
type DateToken = { literal: string } | { field: 'y' | 'M' | 'd' | 'H' | 'm' | 's' | 'S'; width: number };

export interface ParsedPrefix {
  readonly parts: readonly Part[];
  readonly hasExpressions: boolean;
  readonly hasTimestamp: boolean;
}

const EXPRESSION = /!\{([^}:]*):([^}]*)\}/g;

/** Parses a prefix; PrefixError names what Firehose would refuse. `error` allows error-output-type. */
export function parsePrefix(prefix: string, error: boolean): ParsedPrefix {
  const parts: Part[] = [];
  let last = 0;
  let hasTimestamp = false;
  for (const m of prefix.matchAll(EXPRESSION)) {
    if (m.index > last) parts.push({ literal: prefix.slice(last, m.index) });
    last = m.index + m[0].length;
    const [, namespace, value] = m as unknown as [string, string, string];
    if (namespace === 'timestamp') {
      parts.push({ timestamp: parseDatePattern(value) });
      hasTimestamp = true;
    } else if (namespace === 'firehose' && value === 'random-string') {
      parts.push({ firehose: 'random-string' });
    } else if (namespace === 'firehose' && value === 'error-output-type') {
      if (!error) throw new PrefixError('The expression !{firehose:error-output-type} is allowed only in ErrorOutputPrefix.');
      parts.push({ firehose: 'error-output-type' });
    } else if (namespace === 'partitionKeyFromQuery' || namespace === 'partitionKeyFromLambda') {
      throw new PrefixError(`Dynamic partitioning (${namespace}) is not supported by this broker.`);
    } else {
      throw new PrefixError(`Unknown expression !{${namespace}:${value}} in the prefix.`);
    }
  }
  if (last < prefix.length) parts.push({ literal: prefix.slice(last) });
  if (parts.some((p) => 'literal' in p && p.literal.includes('!{')))
    throw new PrefixError(`The prefix "${prefix}" has an expression that is not closed.`);
  return { parts, hasExpressions: parts.some((p) => !('literal' in p)), hasTimestamp };
}

/** Checks a stream's prefixes together: with expressions in Prefix, ErrorOutputPrefix must be set. */
export function checkPrefixes(prefix: string, errorPrefix: string): void {
  const p = parsePrefix(prefix, false);
  parsePrefix(errorPrefix, true);
  if (p.hasExpressions && errorPrefix === '')
    throw new PrefixError('ErrorOutputPrefix must be specified when Prefix contains expressions.');
}

function parseDatePattern(pattern: string): DateToken[] {
  const tokens: DateToken[] = [];
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i] as string;
    if (ch === "'") {
      const end = pattern.indexOf("'", i + 1);
      if (end < 0) throw new PrefixError(`Unclosed quote in the timestamp pattern "${pattern}".`);
      tokens.push({ literal: end === i + 1 ? "'" : pattern.slice(i + 1, end) });
      i = end + 1;
    } else if (/[a-zA-Z]/.test(ch)) {
      let j = i;
      while (pattern[j] === ch) j++;
      if (!'yMdHmsS'.includes(ch))
        throw new PrefixError(`The timestamp pattern letter "${ch}" in "${pattern}" is not supported (use y, M, d, H, m, s, S).`);
      tokens.push({ field: ch as 'y', width: j - i });
      i = j;
    } else {
      tokens.push({ literal: ch });
      i++;
    }
  }
  return tokens;
}

function formatDate(tokens: readonly DateToken[], t: Date): string {
  let out = '';
  for (const tok of tokens) {
    if ('literal' in tok) {
      out += tok.literal;
      continue;
    }
    const value = {
      y: t.getUTCFullYear(),
      M: t.getUTCMonth() + 1,
      d: t.getUTCDate(),
      H: t.getUTCHours(),
      m: t.getUTCMinutes(),
      s: t.getUTCSeconds(),
      S: t.getUTCMilliseconds(),
    }[tok.field];
    if (tok.field === 'S') {
      // Java's S is the fraction of the second: S tenths, SS hundredths, SSS milliseconds.
      out += String(value).padStart(3, '0').padEnd(tok.width, '0').slice(0, tok.width);
      continue;
    }
    const text = String(value).padStart(tok.width, '0');
    out += tok.field === 'y' && tok.width === 2 ? text.slice(-2) : text;
  }
  return out;
}

const DEFAULT_TIME: DateToken[] = parseDatePattern('yyyy/MM/dd/HH/');
const NAME_TIME: DateToken[] = parseDatePattern('yyyy-MM-dd-HH-mm-ss');
const RANDOM_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomString(): string {
  let s = '';
  for (let i = 0; i < 11; i++) s += RANDOM_ALPHABET[Math.floor(Math.random() * RANDOM_ALPHABET.length)];
  return s;
}

export interface KeyInput {
  stream: string;
  version: number;
  /** Arrival time of the oldest record in the object. */
  oldest: number;
  /** `.gz` for GZIP. */
  extension: string;
  errorOutputType?: string;
}

/** The full key of an object: expanded prefix (default time part when it has no expression), then the name. */
export function objectKey(prefix: ParsedPrefix, k: KeyInput): string {
  const t = new Date(k.oldest);
  let out = '';
  for (const p of prefix.parts) {
    if ('literal' in p) out += p.literal;
    else if ('timestamp' in p) out += formatDate(p.timestamp, t);
    else out += p.firehose === 'random-string' ? randomString() : (k.errorOutputType ?? '');
  }
  if (!prefix.hasExpressions) out += formatDate(DEFAULT_TIME, t);
  return `${out}${k.stream}-${String(k.version)}-${formatDate(NAME_TIME, t)}-${randomUUID()}${k.extension}`;
}

/** The error prefix used when a stream names none: `<prefix><error-output-type>/YYYY/MM/DD/HH/`. */
export function defaultErrorPrefix(prefix: string): string {
  return `${prefix}!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/`;
}
