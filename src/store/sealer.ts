// Encryption at rest (security.encryption): values are sealed with AES-256-GCM before they reach
// the store and opened when read back. Node's crypto does the cipher (OpenSSL, hardware AES); what
// is written here is only the envelope, since no library defines one for a keyring of named keys:
//
//   0xC1 | version 1 | key id length (1) | key id | context length (2, BE) | context | nonce (12) | tag (16) | ciphertext
//
// 0xC1 is the one byte MessagePack never uses and no JSON text starts with, so a sealed value is
// told from a plain one by its first byte (data written before encryption was turned on still
// reads). The context names the value's place (a message's id and destination, a session's id);
// it and the rest of the header are the cipher's associated data, so a value that is altered,
// truncated, or moved to another message fails to open. The key ids stay in the clear: they say
// which key opens a value, and what a rotation still has to re-seal.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SealedRecordError } from '../shared/errors.ts';

export const SEALED_MARK = 0xc1;
const VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;

/** One key of the keyring: its id is stored beside what it seals, the bytes never are. */
export interface SealingKey {
  readonly id: string;
  readonly key: Buffer;
}

export interface Opened {
  readonly plain: Buffer;
  readonly context: string;
  readonly keyId: string;
}

export function isSealed(value: Uint8Array): boolean {
  return value.length > 0 && value[0] === SEALED_MARK;
}

/** The id of the key that sealed `value`, or undefined when it is not sealed (or too short to say). */
export function sealedKeyId(value: Uint8Array): string | undefined {
  if (!isSealed(value) || value.length < 3) return undefined;
  const n = value[2] as number;
  return value.length < 3 + n ? undefined : Buffer.from(value.buffer, value.byteOffset + 3, n).toString('utf8');
}

export class Sealer {
  /** The key new values are sealed with: the keyring's first. */
  readonly active: SealingKey;
  private readonly byId = new Map<string, SealingKey>();
  private readonly idBytes = new Map<string, Buffer>();
  /**
   * Nonces: a random 96-bit start per Sealer, then one more for each value (NIST SP 800-38D's
   * deterministic construction). Unique within a process without a random draw per value, and
   * across processes sharing a key unless two random starts fall within 2^64 of each other.
   */
  private readonly nonceBase = randomBytes(NONCE_BYTES);
  private sealedCount = 0;

  constructor(keys: readonly SealingKey[]) {
    if (keys.length === 0) throw new RangeError('a keyring needs one key at least');
    for (const k of keys) {
      const idBytes = Buffer.byteLength(k.id);
      if (idBytes === 0 || idBytes > 255) throw new RangeError(`key id '${k.id}' must be 1 to 255 bytes`);
      if (k.key.length !== KEY_BYTES) throw new RangeError(`key '${k.id}' has ${k.key.length} bytes; AES-256 takes ${KEY_BYTES}`);
      if (this.byId.has(k.id)) throw new RangeError(`key id '${k.id}' appears twice in the keyring`);
      this.byId.set(k.id, k);
      this.idBytes.set(k.id, Buffer.from(k.id));
    }
    this.active = keys[0] as SealingKey;
  }

  get keyIds(): string[] {
    return [...this.byId.keys()];
  }

  has(keyId: string): boolean {
    return this.byId.has(keyId);
  }

  seal(plain: Uint8Array, context: string, key: SealingKey = this.active): Buffer {
    const id = this.idBytes.get(key.id) ?? Buffer.from(key.id);
    const ctxLength = Buffer.byteLength(context);
    const headerLength = 5 + id.length + ctxLength;
    // Header, nonce and tag in one buffer; the ciphertext follows it.
    const head = Buffer.allocUnsafe(headerLength + NONCE_BYTES + TAG_BYTES);
    head[0] = SEALED_MARK;
    head[1] = VERSION;
    head[2] = id.length;
    id.copy(head, 3);
    head.writeUInt16BE(ctxLength, 3 + id.length);
    head.write(context, 5 + id.length);
    const nonce = head.subarray(headerLength, headerLength + NONCE_BYTES);
    this.nextNonce(nonce);
    const cipher = createCipheriv('aes-256-gcm', key.key, nonce);
    cipher.setAAD(head.subarray(0, headerLength));
    const body = cipher.update(plain);
    cipher.final();
    cipher.getAuthTag().copy(head, headerLength + NONCE_BYTES);
    return Buffer.concat([head, body], head.length + body.length);
  }

  private nextNonce(into: Buffer): void {
    this.nonceBase.copy(into);
    const n = ++this.sealedCount;
    into.writeUInt32BE((into.readUInt32BE(4) ^ Math.floor(n / 0x1_0000_0000)) >>> 0, 4);
    into.writeUInt32BE((into.readUInt32BE(8) ^ n) >>> 0, 8);
  }

  /** Opens a sealed value; `context`, when given, must be the one it was sealed with. */
  open(value: Uint8Array, context?: string): Opened {
    const b = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const fail = (why: string, extra: Record<string, unknown> = {}): never => {
      throw new SealedRecordError(`A sealed value does not open: ${why}`, { ...(context !== undefined ? { context } : {}), ...extra });
    };
    if (b.length < 5 || b[0] !== SEALED_MARK) fail('it is not sealed');
    if (b[1] !== VERSION) fail(`envelope version ${b[1]} is unknown`);
    const idEnd = 3 + (b[2] as number);
    if (b.length < idEnd + 2) fail('it is truncated');
    const keyId = b.toString('utf8', 3, idEnd);
    const ctxEnd = idEnd + 2 + b.readUInt16BE(idEnd);
    if (b.length < ctxEnd + NONCE_BYTES + TAG_BYTES) fail('it is truncated', { keyId });
    const sealedContext = b.toString('utf8', idEnd + 2, ctxEnd);
    if (context !== undefined && sealedContext !== context) fail(`it was sealed for '${sealedContext}' (moved?)`, { keyId });
    const key = this.byId.get(keyId);
    if (!key) fail(`it was sealed with key '${keyId}', which the keyring lacks`, { keyId });
    const decipher = createDecipheriv('aes-256-gcm', (key as SealingKey).key, b.subarray(ctxEnd, ctxEnd + NONCE_BYTES));
    decipher.setAAD(b.subarray(0, ctxEnd));
    decipher.setAuthTag(b.subarray(ctxEnd + NONCE_BYTES, ctxEnd + NONCE_BYTES + TAG_BYTES));
    try {
      const plain = Buffer.concat([decipher.update(b.subarray(ctxEnd + NONCE_BYTES + TAG_BYTES)), decipher.final()]);
      return { plain, context: sealedContext, keyId };
    } catch {
      return fail(`it was altered, or key '${keyId}' is not the key that sealed it`, { keyId });
    }
  }
}
