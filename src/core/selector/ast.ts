// The syntax tree of a parsed selector.

export type Value = string | number | boolean | null;

export type Node =
  | { t: 'lit'; v: Value }
  | { t: 'id'; name: string }
  | { t: 'neg'; e: Node }
  | { t: 'not'; e: Node }
  | { t: 'and' | 'or'; l: Node; r: Node }
  | { t: 'cmp'; op: '=' | '<>' | '<' | '<=' | '>' | '>='; l: Node; r: Node }
  | { t: 'arith'; op: '+' | '-' | '*' | '/'; l: Node; r: Node }
  | { t: 'between'; e: Node; lo: Node; hi: Node; not: boolean }
  | { t: 'like'; e: Node; re: RegExp; not: boolean }
  | { t: 'in'; e: Node; list: ReadonlySet<string>; not: boolean }
  | { t: 'isnull'; e: Node; not: boolean };
