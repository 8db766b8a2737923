// Which keys the stored values may be sealed with, kept beside them: each key that ever sealed
// here leaves its id and a short value it sealed (never the key). A broker starts only when its
// keyring opens every such value, so a missing or wrong key is a clear error at start rather than
// messages that fail to open one by one; a key leaves the list once a rotation has re-sealed
// everything it sealed.
import { ConfigError } from '../../shared/errors.ts';
import type { Sealer } from '../sealer.ts';
import type { RedisClient } from './connect.ts';
import type { Keys } from './keys.ts';

const PROOF = Buffer.from('junction sealing key');

function proofContext(id: string): string {
  return `key\n${id}`;
}

/** Throws a ConfigError naming what to fix when `sealer` cannot open what the store holds. */
export async function checkSealingKeys(redis: RedisClient, keys: Keys, sealer: Sealer | undefined): Promise<void> {
  const stored = await redis.hgetallBuffer(keys.sealingKeys);
  const ids = Object.keys(stored);
  if (!sealer) {
    if (ids.length > 0) {
      throw new ConfigError(
        `The store holds values sealed with key(s) ${ids.map((i) => `'${i}'`).join(', ')}: configure them in security.encryption.keys`,
        { keys: ids },
      );
    }
    return;
  }
  for (const id of ids) {
    if (!sealer.has(id)) {
      throw new ConfigError(
        `The store holds values sealed with key '${id}', which security.encryption.keys lacks: list it again (every listed key ` +
          'opens values, the first seals new ones) until `junction keys rotate` has re-sealed them',
        { key: id },
      );
    }
    try {
      sealer.open(stored[id] as Buffer, proofContext(id));
    } catch {
      throw new ConfigError(
        `Key '${id}' in security.encryption.keys is not the key that sealed the stored values (another file or value?)`,
        {
          key: id,
        },
      );
    }
  }
}

/** Records that the active key seals values here (before it seals any). */
export async function registerActiveKey(redis: RedisClient, keys: Keys, sealer: Sealer): Promise<void> {
  const id = sealer.active.id;
  await redis.hsetnx(keys.sealingKeys, id, sealer.seal(PROOF, proofContext(id)));
}

/** The key ids the store lists as sealing some of its values. */
export async function listedSealingKeys(redis: RedisClient, keys: Keys): Promise<string[]> {
  return redis.hkeys(keys.sealingKeys);
}

/** A rotation re-sealed everything `id` sealed: it is no longer needed. */
export async function retireSealingKey(redis: RedisClient, keys: Keys, id: string): Promise<void> {
  await redis.hdel(keys.sealingKeys, id);
}
