// The keyring of security.encryption, read at start: each key from its file (32 raw bytes, or
// their hex or base64 text, as `openssl rand 32`, `-hex 32` or `-base64 32` writes them) or from an
// environment variable (hex or base64). A key that cannot be read or has the wrong length stops
// the start with the key's id and where it was looked for, never the key itself.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../shared/errors.ts';
import { KEY_BYTES, Sealer, type SealingKey } from '../store/sealer.ts';

export interface KeySource {
  id: string;
  file?: string | undefined;
  env?: string | undefined;
}

export function loadSealer(keys: readonly KeySource[] | undefined, env: NodeJS.ProcessEnv = process.env): Sealer | undefined {
  if (!keys || keys.length === 0) return undefined;
  return new Sealer(keys.map((k) => ({ id: k.id, key: readKey(k, env) }) satisfies SealingKey));
}

function readKey(k: KeySource, env: NodeJS.ProcessEnv): Buffer {
  let raw: Buffer;
  let where: string;
  if (k.file !== undefined) {
    where = `file ${k.file}`;
    try {
      raw = readFileSync(k.file);
    } catch (err) {
      throw new ConfigError(
        `security.encryption key '${k.id}': cannot read ${where}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        {
          key: k.id,
        },
      );
    }
  } else {
    where = `environment variable ${k.env}`;
    const v = env[k.env as string];
    if (v === undefined || v === '') throw new ConfigError(`security.encryption key '${k.id}': ${where} is not set`, { key: k.id });
    raw = Buffer.from(v);
  }
  const key = decodeKey(raw, k.file !== undefined);
  if (!key) {
    throw new ConfigError(
      `security.encryption key '${k.id}' (${where}) is not ${KEY_BYTES} bytes: give ${KEY_BYTES} raw bytes (files only), or ` +
        `their hex or base64 text (\`openssl rand -hex ${KEY_BYTES}\`)`,
      { key: k.id },
    );
  }
  return key;
}

function decodeKey(raw: Buffer, rawAllowed: boolean): Buffer | undefined {
  const text = raw.toString('latin1').trim();
  // 32 bytes that read as text are text (`openssl rand -hex 16` is no 32-byte key).
  if (rawAllowed && raw.length === KEY_BYTES && !/^[A-Za-z0-9+/=\s]+$/.test(raw.toString('latin1'))) return raw;
  if (/^[0-9a-fA-F]+$/.test(text) && text.length === KEY_BYTES * 2) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    const b = Buffer.from(text, 'base64');
    if (b.length === KEY_BYTES) return b;
  }
  return undefined;
}
