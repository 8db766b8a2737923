// Writes docs/message-mapping.md from the mapping table in adapters/message-mapping.ts
// (`npm run docs:mapping`); test/unit/message-mapping-doc.test.ts fails when the page is stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LOST, MAPPING, PROTOCOL_NAMES, type MappedProtocol } from '../adapters/message-mapping.ts';

const COLUMNS: MappedProtocol[] = ['mqtt311', 'mqtt5', 'stomp', 'amqp'];

function cell(text: string | null): string {
  return text === null ? '— (lost)' : text.replace(/\|/g, '\\|');
}

export function renderMappingDoc(): string {
  const lines = [
    '<!-- Generated from adapters/message-mapping.ts by `npm run docs:mapping`: edit that file, not this one. -->',
    '# Message mapping across protocols',
    '',
    'Every message passes through one core record (`src/core/message.ts`). A row is a field of that',
    'record; a column says where each protocol carries it. A message keeps a field from publisher to',
    'consumer when both columns carry it; `— (lost)` marks a protocol that cannot. The conversion',
    'matrix test (`test/interop/conversion-matrix.test.ts`) checks the marked rows for every ordered',
    "pair of protocols, over TCP and WebSocket. Destination names are in each adapter's README.",
    '',
    `| core field | ${COLUMNS.map((c) => PROTOCOL_NAMES[c]).join(' | ')} |`,
    `|---|${COLUMNS.map(() => '---').join('|')}|`,
    ...MAPPING.map((r) => `| ${r.core}${r.matrix ? ' ✓' : ''} | ${COLUMNS.map((c) => cell(r[c])).join(' | ')} |`),
    '',
    '✓: checked field by field by the conversion matrix.',
    '',
    '## What is lost, and where',
    '',
    ...LOST.map((l) => `- ${l}`),
    '',
  ];
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(new URL('../docs/message-mapping.md', import.meta.url), renderMappingDoc());
}
