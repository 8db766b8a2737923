// Tokens of the JMS message selector language (JMS 2.0 §3.8.1): identifiers, keywords (case
// insensitive), string literals with '' escapes, exact and approximate numbers, operators.
import { SelectorSyntaxError } from '../../shared/errors.ts';

export type TokenKind = 'id' | 'kw' | 'str' | 'num' | 'op' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Keywords upper-cased; operators as written; identifiers and strings as their value. */
  text: string;
  num?: number;
  pos: number;
}

export const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'BETWEEN', 'LIKE', 'IN', 'IS', 'NULL', 'TRUE', 'FALSE', 'ESCAPE']);

const TWO_CHAR_OPS = new Set(['<>', '<=', '>=']);
const ONE_CHAR_OPS = new Set(['=', '<', '>', '+', '-', '*', '/', '(', ')', ',']);

function isIdStart(c: string): boolean {
  return /[A-Za-z_$]/.test(c) || (c > '\u007f' && /\p{L}/u.test(c));
}

function isIdPart(c: string): boolean {
  return /[A-Za-z0-9_$]/.test(c) || (c > '\u007f' && /[\p{L}\p{N}]/u.test(c));
}

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new SelectorSyntaxError('unterminated string literal', src, start);
        const d = src[i] as string;
        if (d === "'") {
          if (src[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += d;
        i++;
      }
      out.push({ kind: 'str', text: value, pos: start });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const tok = readNumber(src, i);
      out.push(tok);
      i += tok.text.length;
      continue;
    }
    if (isIdStart(c)) {
      while (i < src.length && isIdPart(src[i] as string)) i++;
      const word = src.slice(start, i);
      const upper = word.toUpperCase();
      if (KEYWORDS.has(upper)) out.push({ kind: 'kw', text: upper, pos: start });
      else out.push({ kind: 'id', text: word, pos: start });
      continue;
    }
    const two = src.slice(i, i + 2);
    if (TWO_CHAR_OPS.has(two)) {
      out.push({ kind: 'op', text: two, pos: start });
      i += 2;
      continue;
    }
    if (ONE_CHAR_OPS.has(c)) {
      out.push({ kind: 'op', text: c, pos: start });
      i++;
      continue;
    }
    throw new SelectorSyntaxError(`unexpected character "${c}"`, src, start);
  }
  out.push({ kind: 'eof', text: '', pos: src.length });
  return out;
}

/** Reads a number at `start`; the token's `text` is exactly the characters consumed. */
function readNumber(src: string, start: number): Token {
  const rest = src.slice(start);
  const hex = /^0[xX][0-9a-fA-F]+[lL]?/.exec(rest);
  if (hex) {
    const digits = hex[0].replace(/[lL]$/, '');
    return { kind: 'num', text: hex[0], num: Number.parseInt(digits.slice(2), 16), pos: start };
  }
  const m = /^(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?[lLfFdD]?/.exec(rest);
  if (!m) throw new SelectorSyntaxError('malformed number', src, start);
  const text = m[0];
  const after = src[start + text.length];
  if (after !== undefined && isIdPart(after)) {
    throw new SelectorSyntaxError(`malformed number "${text}${after}"`, src, start);
  }
  const n = Number(text.replace(/[lLfFdD]$/, ''));
  if (!Number.isFinite(n)) throw new SelectorSyntaxError(`number out of range "${text}"`, src, start);
  return { kind: 'num', text, num: n, pos: start };
}
