// Writes STOMP frames: header escaping by version (none in CONNECTED, none in 1.0, where a line
// break would end the header and becomes a space instead), and a content-length on every frame
// with a body, so bodies may hold NUL bytes.
import type { StompVersion } from './frame.ts';

export type HeaderList = ReadonlyArray<readonly [string, string]>;

const SPECIAL = /[\\\n:\r]/;

function escape(s: string, version: StompVersion): string {
  if (!SPECIAL.test(s)) return s;
  if (version === '1.0') return s.replace(/[\r\n]/g, ' ');
  let out = s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/:/g, '\\c');
  if (version === '1.2') out = out.replace(/\r/g, '\\r');
  else out = out.replace(/\r/g, ' ');
  return out;
}

export function encodeFrame(command: string, headers: HeaderList, body: Uint8Array | undefined, version: StompVersion): Buffer {
  const raw = command === 'CONNECTED' || command === 'CONNECT' || command === 'STOMP';
  let head = `${command}\n`;
  for (const [k, v] of headers) head += raw ? `${k}:${v}\n` : `${escape(k, version)}:${escape(v, version)}\n`;
  if (body && body.length > 0) {
    head += `content-length:${body.length}\n\n`;
    return Buffer.concat([Buffer.from(head, 'utf8'), body, Buffer.from([0])]);
  }
  return Buffer.from(`${head}\n\0`, 'utf8');
}
