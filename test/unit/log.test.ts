// The broker's log: JSON lines for collectors, readable single lines when asked (or on a terminal),
// and secrets redacted either way.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type LogFormat } from '../../src/log.ts';

function written(format: LogFormat): string {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const log = createLogger('info', out, format);
  log.info({ queue: 'orders', password: 'hunter2' }, 'queue created');
  log.flush();
  return Buffer.concat(chunks).toString();
}

describe('createLogger', () => {
  it('writes one JSON object a line, with the password redacted', () => {
    const lines = written('json').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 30, msg: 'queue created', queue: 'orders', password: '[redacted]' });
  });

  it('writes a readable line when asked, with the password redacted', () => {
    const lines = written('pretty').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: queue created \{"queue":"orders","password":"\[redacted\]"\}$/);
  });

  it('writes JSON to anything but a terminal when left to choose', () => {
    expect(() => JSON.parse(written('auto'))).not.toThrow();
  });
});
