// `npm run bench -- --encrypted <scenario>`: the broker seals what it stores (security.encryption)
// with a throwaway key, so a scenario's figures with and without it compare side by side. The
// flag travels in the environment to the broker process and the in-process core alike.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sealer } from '../../src/store/sealer.ts';

const FLAG = 'JUNCTION_BENCH_ENCRYPTED';

export function setBenchEncryption(on: boolean): void {
  if (on) process.env[FLAG] = '1';
}

export function benchEncrypted(): boolean {
  return process.env[FLAG] === '1';
}

/** The configuration line a benchmark broker process gets, with its key file; none when off. */
export function encryptionConfigLines(dir: string): string[] {
  if (!benchEncrypted()) return [];
  const file = join(dir, 'bench.key');
  writeFileSync(file, randomBytes(32));
  return [`security: { encryption: { keys: [{ id: bench, file: ${file} }] } }`];
}

/** The keyring an in-process store seals with; undefined when off. */
export function benchSealer(): Sealer | undefined {
  if (!benchEncrypted()) return undefined;
  return new Sealer([{ id: 'bench', key: randomBytes(32) }]);
}
