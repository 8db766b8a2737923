#!/usr/bin/env node
/* global process, URL, console */
// Writes adapters/openwire/layouts.ts, the table of OpenWire command layouts the codec interprets,
// from ActiveMQ's marshallers (versions 9 to 12): each marshaller's looseUnmarshal reads its fields
// in wire order, so the table is those reads, named by their setters. Run it against a checkout of
// apache/activemq: node scripts/gen-openwire-layouts.mjs /path/to/activemq
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.argv[2];
if (!root) throw new Error('usage: gen-openwire-layouts.mjs <apache/activemq checkout>');
const client = join(root, 'activemq-client/src/main/java/org/apache/activemq');
const VERSIONS = [9, 10, 11, 12];
// Only network connectors between brokers send it, and its layout changed in version 10 in a way one
// table cannot hold: left out, it is an unknown type to Junction.
const BROKER_TO_BROKER = new Set(['NetworkBridgeFilter']);

const commandTypes = new Map();
for (const m of readFileSync(join(client, 'command/CommandTypes.java'), 'utf8').matchAll(/byte ([A-Z_]+) = (\d+);/g)) {
  commandTypes.set(m[1], Number(m[2]));
}

function typeOf(cls) {
  let text;
  try {
    text = readFileSync(join(client, `command/${cls}.java`), 'utf8');
  } catch {
    return undefined;
  }
  const m = /DATA_STRUCTURE_TYPE\s*=\s*CommandTypes\.([A-Z_]+)/.exec(text);
  return m ? commandTypes.get(m[1]) : undefined;
}

const READS = [
  [/looseUnmarsalCachedObject/, 'cached'],
  [/looseUnmarsalNestedObject/, 'nested'],
  [/looseUnmarsalThrowable/, 'throwable'],
  [/looseUnmarshalString/, 'string'],
  [/looseUnmarshalLong/, 'long'],
  [/looseUnmarshalByteSequence|looseUnmarshalByteArray/, 'bytes'],
  [/dataIn\.readBoolean/, 'boolean'],
  [/dataIn\.readByte/, 'byte'],
  [/dataIn\.readShort/, 'short'],
  [/dataIn\.readInt/, 'int'],
];

function layoutOf(text) {
  const parent = /extends (\w+)Marshaller/.exec(text)[1];
  const method = /public void looseUnmarshal\([^)]*\)[^{]*\{([\s\S]*?)\n {4}\}/.exec(text);
  if (!method) return { parent: parent === 'BaseDataStream' ? null : parent, fields: [] };
  const body = method[1];
  const fields = [];
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const array = /^\s*if \(dataIn\.readBoolean\(\)\) \{/.exec(line);
    if (array) {
      // An array of nested objects: its setter follows the loop.
      let j = i + 1;
      while (!/info\.set(\w+)\(value\)/.test(lines[j])) j++;
      fields.push([lcFirst(/info\.set(\w+)\(value\)/.exec(lines[j])[1]), 'array']);
      while (!/^\s*\}\s*$/.test(lines[j + 1]) || !/info\.set\w+\(null\)/.test(lines[j])) j++;
      i = j + 1;
      continue;
    }
    const constBytes = /info\.set(\w+)\(looseUnmarshalConstByteArray\(dataIn, (\d+)\)\)/.exec(line);
    if (constBytes) {
      fields.push([lcFirst(constBytes[1]), `const${constBytes[2]}`]);
      continue;
    }
    const set = /info\.set(\w+)\((.*)\);/.exec(line);
    if (!set) continue;
    const kind = READS.find(([re]) => re.test(set[2]));
    if (!kind) throw new Error(`unknown read: ${line}`);
    fields.push([lcFirst(set[1]), kind[1]]);
  }
  return { parent: parent === 'BaseDataStream' ? null : parent, fields };
}

function lcFirst(s) {
  return s[0].toLowerCase() + s.slice(1);
}

const byVersion = new Map();
for (const v of VERSIONS) {
  const dir = join(client, `openwire/v${v}`);
  const layouts = new Map();
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('Marshaller.java') || f.startsWith('BaseDataStream') || f === 'MarshallerFactory.java') continue;
    const cls = f.replace(/Marshaller\.java$/, '');
    if (BROKER_TO_BROKER.has(cls)) continue;
    const text = readFileSync(join(dir, f), 'utf8').replace(/\r\n?/g, '\n');
    const layout = layoutOf(text);
    const abstract = /public abstract class/.test(text);
    layouts.set(cls, { ...layout, type: abstract ? undefined : typeOf(cls) });
  }
  byVersion.set(v, layouts);
}

// One entry per class: the fields of the newest version, each marked with the first version that has
// it; a field a newer version dropped or moved would make this fail, and the table could not hold it.
const latest = byVersion.get(12);
const out = [];
for (const [cls, layout] of latest) {
  const fields = layout.fields.map(([name, kind]) => {
    const since = VERSIONS.find((v) =>
      byVersion
        .get(v)
        .get(cls)
        ?.fields.some(([n, k]) => n === name && k === kind),
    );
    return since === 9 ? [name, kind] : [name, kind, since];
  });
  for (const v of VERSIONS) {
    const old = byVersion.get(v).get(cls);
    if (!old) continue;
    const expect = fields.filter((f) => (f[2] ?? 9) <= v).map(([n, k]) => `${n}:${k}`);
    const got = old.fields.map(([n, k]) => `${n}:${k}`);
    if (expect.join() !== got.join()) throw new Error(`${cls} v${v}: ${got.join()} is not a prefix-compatible subset of v12`);
  }
  const since = VERSIONS.find((v) => byVersion.get(v).has(cls));
  out.push({ cls, type: layout.type, parent: layout.parent, fields, since });
}

const lines = [
  '// The OpenWire command layouts, versions 9 to 12: for each data structure its type byte, the layout',
  '// it extends, and its fields in wire order with their encodings ([name, kind] or [name, kind, first',
  "// version]). Generated by scripts/gen-openwire-layouts.mjs from ActiveMQ's marshallers; codec.ts",
  '// interprets it, loose and tight alike. Do not edit by hand: run the script (then npm run format).',
  "import type { Layout } from './layout-types.ts';",
  '',
  'export const LAYOUTS: Readonly<Record<string, Layout>> = {',
];
for (const l of out) {
  const fields = l.fields.map((f) => JSON.stringify(f).replaceAll('"', "'")).join(', ');
  const parts = [];
  if (l.type !== undefined) parts.push(`type: ${l.type}`);
  parts.push(`parent: ${l.parent ? `'${l.parent}'` : 'null'}`);
  if (l.since > 9) parts.push(`since: ${l.since}`);
  parts.push(`fields: [${fields}]`);
  lines.push(`  ${l.cls}: { ${parts.join(', ')} },`);
}
lines.push('};', '');
writeFileSync(new URL('../adapters/openwire/layouts.ts', import.meta.url), lines.join('\n'));
console.log(`${out.length} layouts`);
