// Everything a Redis server holds, as one buffer of key names and raw values (strings, hashes,
// sorted sets, sets, lists, streams), for tests that look for plaintext at rest.
import type { Redis } from 'ioredis';

const READ: Record<string, (key: Buffer) => unknown[]> = {
  string: (k) => ['GET', k],
  hash: (k) => ['HGETALL', k],
  zset: (k) => ['ZRANGE', k, '0', '-1', 'WITHSCORES'],
  set: (k) => ['SMEMBERS', k],
  list: (k) => ['LRANGE', k, '0', '-1'],
  stream: (k) => ['XRANGE', k, '-', '+'],
};

/** A reply of any shape (RESP3 maps and nested arrays included) as its buffers. */
function buffers(reply: unknown): Buffer[] {
  if (Buffer.isBuffer(reply)) return [reply];
  if (Array.isArray(reply)) return reply.flatMap(buffers);
  if (reply instanceof Map) return [...reply].flatMap(buffers);
  if (reply === null || reply === undefined) return [];
  if (typeof reply === 'object') return Object.entries(reply).flatMap(buffers);
  return [Buffer.from(String(reply))];
}

export async function dumpRedis(redis: Redis): Promise<Buffer> {
  const parts: Buffer[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scanBuffer(cursor, 'COUNT', 1000);
    cursor = next.toString();
    for (const key of keys) {
      parts.push(key);
      const read = READ[await redis.type(key)];
      if (!read) throw new Error(`dumpRedis: key ${key.toString()} has a type it cannot read`);
      const [command, ...args] = read(key) as [string, ...Array<string | Buffer>];
      parts.push(...buffers(await redis.callBuffer(command, ...args)));
    }
  } while (cursor !== '0');
  return Buffer.concat(parts);
}
