// Recursive-descent parser for JMS selectors. Precedence, loosest first: OR, AND, NOT, comparison
// (= <> < <= > >= BETWEEN LIKE IN IS NULL), + -, * /, unary + -. Every error names its position.
import { SelectorSyntaxError } from '../../shared/errors.ts';
import type { Node } from './ast.ts';
import { tokenize, type Token } from './lexer.ts';

const MAX_DEPTH = 100;
export const MAX_SELECTOR_LENGTH = 8192;

export function parseSelector(src: string): Node {
  if (src.length > MAX_SELECTOR_LENGTH) {
    throw new SelectorSyntaxError(`selector is longer than ${MAX_SELECTOR_LENGTH} characters`, src.slice(0, 64), 0);
  }
  return new Parser(src).parse();
}

class Parser {
  private readonly toks: Token[];
  private i = 0;
  private depth = 0;

  constructor(private readonly src: string) {
    this.toks = tokenize(src);
  }

  parse(): Node {
    const n = this.orExpr();
    const t = this.peek();
    if (t.kind !== 'eof') this.fail(`unexpected ${describe(t)}`, t);
    return n;
  }

  private peek(): Token {
    return this.toks[this.i] as Token;
  }

  private next(): Token {
    return this.toks[this.i++] as Token;
  }

  private isKw(text: string): boolean {
    const t = this.peek();
    return t.kind === 'kw' && t.text === text;
  }

  private isOp(text: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.text === text;
  }

  private expectKw(text: string): void {
    const t = this.next();
    if (t.kind !== 'kw' || t.text !== text) this.fail(`expected ${text} but found ${describe(t)}`, t);
  }

  private expectOp(text: string): void {
    const t = this.next();
    if (t.kind !== 'op' || t.text !== text) this.fail(`expected "${text}" but found ${describe(t)}`, t);
  }

  private fail(msg: string, t: Token): never {
    throw new SelectorSyntaxError(msg, this.src, t.pos);
  }

  private nest<T>(f: () => T): T {
    if (++this.depth > MAX_DEPTH) this.fail(`expression nested deeper than ${MAX_DEPTH} levels`, this.peek());
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  private orExpr(): Node {
    let l = this.andExpr();
    while (this.isKw('OR')) {
      this.next();
      l = { t: 'or', l, r: this.andExpr() };
    }
    return l;
  }

  private andExpr(): Node {
    let l = this.notExpr();
    while (this.isKw('AND')) {
      this.next();
      l = { t: 'and', l, r: this.notExpr() };
    }
    return l;
  }

  private notExpr(): Node {
    if (this.isKw('NOT')) {
      this.next();
      return this.nest(() => ({ t: 'not', e: this.notExpr() }));
    }
    return this.comparison();
  }

  private comparison(): Node {
    const l = this.additive();
    const t = this.peek();
    if (t.kind === 'op' && ['=', '<>', '<', '<=', '>', '>='].includes(t.text)) {
      this.next();
      return { t: 'cmp', op: t.text as '=', l, r: this.additive() };
    }
    let not = false;
    if (this.isKw('NOT')) {
      this.next();
      not = true;
      const k = this.peek();
      if (!(k.kind === 'kw' && ['BETWEEN', 'LIKE', 'IN'].includes(k.text))) {
        this.fail(`expected BETWEEN, LIKE or IN after NOT but found ${describe(k)}`, k);
      }
    }
    if (this.isKw('BETWEEN')) {
      this.next();
      const lo = this.additive();
      this.expectKw('AND');
      return { t: 'between', e: l, lo, hi: this.additive(), not };
    }
    if (this.isKw('LIKE')) {
      this.next();
      const p = this.next();
      if (p.kind !== 'str') this.fail(`LIKE needs a string literal pattern, found ${describe(p)}`, p);
      let escape: string | undefined;
      if (this.isKw('ESCAPE')) {
        this.next();
        const e = this.next();
        if (e.kind !== 'str' || e.text.length !== 1) this.fail('ESCAPE needs a one-character string literal', e);
        escape = e.text;
      }
      return { t: 'like', e: l, re: likeToRegExp(p.text, escape), not };
    }
    if (this.isKw('IN')) {
      if (l.t !== 'id') this.fail('IN needs an identifier on its left', this.peek());
      this.next();
      this.expectOp('(');
      const list = new Set<string>();
      for (;;) {
        const s = this.next();
        if (s.kind !== 'str') this.fail(`IN list entries must be string literals, found ${describe(s)}`, s);
        list.add(s.text);
        if (this.isOp(',')) {
          this.next();
          continue;
        }
        this.expectOp(')');
        break;
      }
      return { t: 'in', e: l, list, not };
    }
    if (this.isKw('IS')) {
      this.next();
      let isNot = false;
      if (this.isKw('NOT')) {
        this.next();
        isNot = true;
      }
      this.expectKw('NULL');
      return { t: 'isnull', e: l, not: isNot };
    }
    return l;
  }

  private additive(): Node {
    let l = this.multiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.next().text as '+' | '-';
      l = { t: 'arith', op, l, r: this.multiplicative() };
    }
    return l;
  }

  private multiplicative(): Node {
    let l = this.unary();
    while (this.isOp('*') || this.isOp('/')) {
      const op = this.next().text as '*' | '/';
      l = { t: 'arith', op, l, r: this.unary() };
    }
    return l;
  }

  private unary(): Node {
    if (this.isOp('-')) {
      this.next();
      return this.nest(() => ({ t: 'neg', e: this.unary() }));
    }
    if (this.isOp('+')) {
      this.next();
      return this.nest(() => this.unary());
    }
    return this.primary();
  }

  private primary(): Node {
    const t = this.next();
    switch (t.kind) {
      case 'str':
        return { t: 'lit', v: t.text };
      case 'num':
        return { t: 'lit', v: t.num as number };
      case 'id':
        return { t: 'id', name: t.text };
      case 'kw':
        if (t.text === 'TRUE') return { t: 'lit', v: true };
        if (t.text === 'FALSE') return { t: 'lit', v: false };
        if (t.text === 'NULL') return { t: 'lit', v: null };
        return this.fail(`unexpected keyword ${t.text}`, t);
      case 'op':
        if (t.text === '(') {
          const e = this.nest(() => this.orExpr());
          this.expectOp(')');
          return e;
        }
        return this.fail(`unexpected "${t.text}"`, t);
      default:
        return this.fail('unexpected end of selector', t);
    }
  }
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of selector';
    case 'str':
      return `string '${t.text}'`;
    case 'kw':
      return `keyword ${t.text}`;
    default:
      return `"${t.text}"`;
  }
}

/** `_` is any one character, `%` any run; the escape character makes the next one literal. */
function likeToRegExp(pattern: string, escape: string | undefined): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (escape !== undefined && c === escape && i + 1 < pattern.length) {
      re += escapeRegExp(pattern[++i] as string);
    } else if (c === '%') re += '[\\s\\S]*';
    else if (c === '_') re += '[\\s\\S]';
    else re += escapeRegExp(c);
  }
  return new RegExp(`${re}$`, 'u');
}

/** A literal character in a unicode-mode pattern: only syntax characters may be escaped there (not `-`). */
function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
