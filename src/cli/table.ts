// Plain-text tables for people (the CLI's default output; --json prints the API's data instead).

export function table(columns: Array<{ key: string; label: string; num?: boolean }>, rows: Array<Record<string, unknown>>): string {
  const cell = (v: unknown): string => (v === undefined || v === null ? '' : Array.isArray(v) ? v.join(',') : String(v));
  const widths = columns.map((c) => Math.max(c.label.length, ...rows.map((r) => cell(r[c.key]).length)));
  const line = (vals: string[]): string =>
    vals
      .map((v, i) => ((columns[i] as { num?: boolean }).num ? v.padStart(widths[i] as number) : v.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.label)), ...rows.map((r) => line(columns.map((c) => cell(r[c.key]))))].join('\n') + '\n';
}
