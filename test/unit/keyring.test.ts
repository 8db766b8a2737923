// Reading security.encryption's keys: 32 raw bytes, or their hex or base64 text, from a file; hex
// or base64 from the environment. Anything else stops the start naming the key and where it was
// looked for, never its bytes.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSealer } from '../../src/security/keyring.ts';
import { ConfigError } from '../../src/shared/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'junction-keyring-'));
const key = randomBytes(32);

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('keyring', () => {
  it('reads raw, hex and base64 files and hex or base64 variables, each to the same 32 bytes', () => {
    const sealed = loadSealer([{ id: 'raw', file: file('raw.key', key) }])?.seal(Buffer.from('x'), 'c');
    const ring = loadSealer(
      [
        { id: 'hex', file: file('hex.key', `${key.toString('hex')}\n`) },
        { id: 'b64', file: file('b64.key', key.toString('base64')) },
        { id: 'env-hex', env: 'K_HEX' },
        { id: 'raw', env: 'K_B64' },
      ],
      { K_HEX: key.toString('hex'), K_B64: key.toString('base64') },
    );
    expect(ring?.active.id).toBe('hex');
    expect(ring?.keyIds).toEqual(['hex', 'b64', 'env-hex', 'raw']);
    expect(ring?.open(sealed as Buffer).plain.toString()).toBe('x');
    expect(loadSealer(undefined)).toBeUndefined();
  });

  it('stops on a missing file or variable, or a key of the wrong length, and never prints the key', () => {
    const cases: Array<[Parameters<typeof loadSealer>[0], RegExp]> = [
      [[{ id: 'k1', file: join(dir, 'absent.key') }], /key 'k1': cannot read file .*absent\.key: ENOENT/],
      [[{ id: 'k1', env: 'NOPE' }], /key 'k1': environment variable NOPE is not set/],
      [[{ id: 'k1', file: file('short.key', randomBytes(16)) }], /key 'k1' \(file .*short\.key\) is not 32 bytes/],
      [[{ id: 'k1', file: file('hex-short.key', randomBytes(16).toString('hex')) }], /is not 32 bytes/],
    ];
    for (const [keys, message] of cases) {
      let caught: unknown;
      try {
        loadSealer(keys, {});
      } catch (err) {
        caught = err;
      }
      expect(caught, String(message)).toBeInstanceOf(ConfigError);
      expect((caught as Error).message).toMatch(message);
    }
  });
});
