// The wildcard index: a trie over dotted segments mapping a concrete topic name to every value
// registered under a pattern that matches it (`*` = exactly one segment, `>` = zero or more
// trailing segments, so `a.>` also matches `a`, as MQTT's `a/#` matches `a`). Lookup cost follows
// the name's depth and the wildcards present, not the number of subscriptions.
import { ALL_SEGMENTS, ONE_SEGMENT, SEGMENT_SEPARATOR } from './destination.ts';

/** A level of the trie; its maps and sets are made when first needed (a fleet has a node or two per device). */
class TrieNode<T> {
  children: Map<string, TrieNode<T>> | undefined;
  values: Set<T> | undefined;
  /** Values registered under `<path>.>`: they match this node and everything beneath it. */
  rest: Set<T> | undefined;
  isEmpty(): boolean {
    return !this.children?.size && !this.values?.size && !this.rest?.size;
  }
}

export class TopicIndex<T> {
  private readonly root = new TrieNode<T>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(pattern: string, value: T): void {
    const segments = pattern.split(SEGMENT_SEPARATOR);
    let node = this.root;
    for (const seg of segments) {
      if (seg === ALL_SEGMENTS) {
        node.rest ??= new Set();
        if (!node.rest.has(value)) this.count++;
        node.rest.add(value);
        return;
      }
      node.children ??= new Map();
      let next = node.children.get(seg);
      if (!next) {
        next = new TrieNode<T>();
        node.children.set(seg, next);
      }
      node = next;
    }
    node.values ??= new Set();
    if (!node.values.has(value)) this.count++;
    node.values.add(value);
  }

  remove(pattern: string, value: T): boolean {
    const segments = pattern.split(SEGMENT_SEPARATOR);
    const path: Array<[TrieNode<T>, string]> = [];
    let node = this.root;
    let removed = false;
    for (const seg of segments) {
      if (seg === ALL_SEGMENTS) {
        removed = node.rest?.delete(value) ?? false;
        if (node.rest?.size === 0) node.rest = undefined;
        break;
      }
      const next = node.children?.get(seg);
      if (!next) return false;
      path.push([node, seg]);
      node = next;
    }
    if (segments[segments.length - 1] !== ALL_SEGMENTS) {
      removed = node.values?.delete(value) ?? false;
      if (node.values?.size === 0) node.values = undefined;
    }
    if (!removed) return false;
    this.count--;
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, seg] = path[i] as [TrieNode<T>, string];
      const child = parent.children?.get(seg);
      if (!child || !child.isEmpty() || !parent.children) break;
      parent.children.delete(seg);
      if (parent.children.size === 0) parent.children = undefined;
    }
    return true;
  }

  /** Every value whose pattern matches the concrete name, each once. */
  match(name: string): Set<T> {
    const out = new Set<T>();
    this.walk(this.root, name.split(SEGMENT_SEPARATOR), 0, out);
    return out;
  }

  private walk(node: TrieNode<T>, segs: string[], i: number, out: Set<T>): void {
    if (node.rest) for (const v of node.rest) out.add(v);
    if (i === segs.length) {
      if (node.values) for (const v of node.values) out.add(v);
      return;
    }
    const children = node.children;
    if (!children) return;
    const seg = segs[i] as string;
    const exact = children.get(seg);
    if (exact) this.walk(exact, segs, i + 1, out);
    const star = children.get(ONE_SEGMENT);
    if (star && seg !== ONE_SEGMENT) this.walk(star, segs, i + 1, out);
  }
}
