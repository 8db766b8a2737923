// Byte streams cut at arbitrary places, for the property tests of the frame and packet size guards,
// and what a guard lets through of them.

/** `b` cut at the positions `cuts` names (taken modulo its length, deduplicated). */
export function chunked(b: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...at, b.length]) {
    out.push(b.subarray(from, c));
    from = c;
  }
  return out;
}

/** Feeds `chunks` to a guard: the first thing it flagged, and how many bytes it let through before. */
export function feedAll<T extends { at: number }>(
  feed: (chunk: Buffer) => T | undefined,
  chunks: Buffer[],
): { flagged: T | undefined; passed: number } {
  let flagged: T | undefined;
  let passed = 0;
  for (const c of chunks) {
    const r = feed(c);
    if (flagged) continue;
    if (r === undefined) passed += c.length;
    else {
      flagged = r;
      passed += r.at;
    }
  }
  return { flagged, passed };
}
