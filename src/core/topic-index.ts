// The wildcard index: a trie over dotted segments mapping a concrete topic name to every value
// registered under a pattern that matches it (`*` = exactly one segment, `>` = zero or more
// trailing segments, so `a.>` also matches `a`, as MQTT's `a/#` matches `a`). Lookup cost follows
// the name's depth and the wildcards present, not the number of subscriptions.
import { ALL_SEGMENTS, ONE_SEGMENT, SEGMENT_SEPARATOR } from './destination.ts';

class TrieNode<T> {
  readonly children = new Map<string, TrieNode<T>>();
  readonly values = new Set<T>();
  /** Values registered under `<path>.>`: they match this node and everything beneath it. */
  readonly rest = new Set<T>();
  isEmpty(): boolean {
    return this.children.size === 0 && this.values.size === 0 && this.rest.size === 0;
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
        if (!node.rest.has(value)) this.count++;
        node.rest.add(value);
        return;
      }
      let next = node.children.get(seg);
      if (!next) {
        next = new TrieNode<T>();
        node.children.set(seg, next);
      }
      node = next;
    }
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
        removed = node.rest.delete(value);
        break;
      }
      const next = node.children.get(seg);
      if (!next) return false;
      path.push([node, seg]);
      node = next;
    }
    if (segments[segments.length - 1] !== ALL_SEGMENTS) removed = node.values.delete(value);
    if (!removed) return false;
    this.count--;
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, seg] = path[i] as [TrieNode<T>, string];
      const child = parent.children.get(seg);
      if (child && child.isEmpty()) parent.children.delete(seg);
      else break;
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
    for (const v of node.rest) out.add(v);
    if (i === segs.length) {
      for (const v of node.values) out.add(v);
      return;
    }
    const seg = segs[i] as string;
    const exact = node.children.get(seg);
    if (exact) this.walk(exact, segs, i + 1, out);
    const star = node.children.get(ONE_SEGMENT);
    if (star && seg !== ONE_SEGMENT) this.walk(star, segs, i + 1, out);
  }
}
