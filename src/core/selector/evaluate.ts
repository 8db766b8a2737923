// Evaluation of a selector tree with SQL's three-valued logic: an absent property is NULL, NULL
// makes a comparison or arithmetic UNKNOWN (null), and a selector selects only when it is TRUE.
// Comparing values of different types is false, as JMS specifies, unless string conversion is on
// (ActiveMQ's `convert_string_expressions:`): then a string compared with a number or a boolean is
// read as one (a string that is not a number compares false). Strings and booleans compare only
// with = and <>. Division is floating point; division by zero is UNKNOWN.
import type { Node, Value } from './ast.ts';

export type Resolver = (identifier: string) => Value;

export function evaluate(n: Node, get: Resolver, convert = false): Value {
  switch (n.t) {
    case 'lit':
      return n.v;
    case 'id':
      return get(n.name);
    case 'neg': {
      const v = evaluate(n.e, get, convert);
      return typeof v === 'number' ? -v : null;
    }
    case 'not': {
      const v = evaluate(n.e, get, convert);
      return typeof v === 'boolean' ? !v : null;
    }
    case 'and': {
      const l = asBool(evaluate(n.l, get, convert));
      if (l === false) return false;
      const r = asBool(evaluate(n.r, get, convert));
      if (r === false) return false;
      return l === null || r === null ? null : true;
    }
    case 'or': {
      const l = asBool(evaluate(n.l, get, convert));
      if (l === true) return true;
      const r = asBool(evaluate(n.r, get, convert));
      if (r === true) return true;
      return l === null || r === null ? null : false;
    }
    case 'cmp':
      return compare(n.op, evaluate(n.l, get, convert), evaluate(n.r, get, convert), convert);
    case 'arith': {
      const l = evaluate(n.l, get, convert);
      const r = evaluate(n.r, get, convert);
      if (typeof l !== 'number' || typeof r !== 'number') return null;
      switch (n.op) {
        case '+':
          return l + r;
        case '-':
          return l - r;
        case '*':
          return l * r;
        case '/':
          return r === 0 ? null : l / r;
      }
      return null;
    }
    case 'between': {
      const v = evaluate(n.e, get, convert);
      const lo = compare('>=', v, evaluate(n.lo, get, convert), convert);
      const hi = compare('<=', v, evaluate(n.hi, get, convert), convert);
      let r: Value;
      if (lo === false || hi === false) r = false;
      else if (lo === null || hi === null) r = null;
      else r = true;
      return n.not && r !== null ? !r : r;
    }
    case 'like': {
      const v = evaluate(n.e, get, convert);
      if (typeof v !== 'string') return null;
      const r = n.re.test(v);
      return n.not ? !r : r;
    }
    case 'in': {
      const v = evaluate(n.e, get, convert);
      if (typeof v !== 'string') return null;
      const r = n.list.has(v);
      return n.not ? !r : r;
    }
    case 'isnull': {
      const isNull = evaluate(n.e, get, convert) === null;
      return n.not ? !isNull : isNull;
    }
  }
}

function asBool(v: Value): boolean | null {
  return typeof v === 'boolean' ? v : null;
}

/** A string converted to the type it is compared with (ActiveMQ's convert_string_expressions). */
function converted(s: string, to: Value): Value {
  if (typeof to === 'boolean') return s.toLowerCase() === 'true';
  if (typeof to === 'number' && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(s)) return Number(s);
  return null;
}

function compare(op: string, l: Value, r: Value, convert = false): Value {
  if (l === null || r === null) return null;
  if (convert && typeof l !== typeof r) {
    if (typeof l === 'string') l = converted(l, r);
    else if (typeof r === 'string') r = converted(r, l);
    if (l === null || r === null) return false;
  }
  if (typeof l !== typeof r) return false;
  if (typeof l === 'number') {
    const rn = r as number;
    switch (op) {
      case '=':
        return l === rn;
      case '<>':
        return l !== rn;
      case '<':
        return l < rn;
      case '<=':
        return l <= rn;
      case '>':
        return l > rn;
      case '>=':
        return l >= rn;
    }
  }
  if (op === '=') return l === r;
  if (op === '<>') return l !== r;
  return null;
}
