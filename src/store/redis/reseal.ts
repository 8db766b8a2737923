// A key rotation's walk over Redis: every hash that holds sealed values (message bodies, retained
// messages, session records, each queue's entry states) is scanned a page at a time while the
// broker runs, and each value not sealed with the active key (or not sealed at all, from before
// encryption was on) is sealed anew in place by reseal-2.lua, which leaves a value alone if it
// changed since it was read. A second pass counts what still needs an older key; only when
// nothing does are the older keys retired.
import { SealedRecordError } from '../../shared/errors.ts';
import { isSealed, sealedKeyId, type Sealer } from '../sealer.ts';
import type { ResealProgress, ResealReport } from '../store.ts';
import {
  SECURITY_CONTEXT,
  decodeMessage,
  messageContext,
  sessionContext,
  stateContext,
  type RecordCodec,
  type RefusedRecord,
} from './codec.ts';
import type { RedisClient } from './connect.ts';
import type { Keys } from './keys.ts';
import { listedSealingKeys, retireSealingKey } from './sealing-keys.ts';

/** One hash of sealed values, and the context a value in it was (or is to be) sealed for. */
interface SealedHash {
  readonly key: string;
  readonly what: RefusedRecord['what'];
  context(field: string, value: Buffer): string;
  /** Whether a value stored plain should be sealed (an entry state only when it has annotations). */
  sealsPlain(value: Buffer): boolean;
}

export interface ResealContext {
  readonly redis: RedisClient;
  readonly keys: Keys;
  readonly codec: RecordCodec;
  readonly sealer: Sealer;
  /** Runs reseal-2.lua under this broker's fencing epoch. */
  replace(hash: string, field: Buffer, read: Buffer, sealed: Buffer): Promise<boolean>;
  onRefused(r: RefusedRecord): void;
}

const PAGE = 200;

export async function resealAll(
  ctx: ResealContext,
  queues: readonly string[],
  onProgress: (p: ResealProgress) => void,
): Promise<ResealReport> {
  const fromMessage = (_field: string, value: Buffer): string => {
    const m = decodeMessage(value);
    return messageContext(m.id, m.destination);
  };
  const hashes: SealedHash[] = [
    { key: ctx.keys.bodies, what: 'message', context: fromMessage, sealsPlain: always },
    { key: ctx.keys.retained, what: 'retained', context: fromMessage, sealsPlain: always },
    { key: ctx.keys.sessions, what: 'session', context: (field) => sessionContext(field), sealsPlain: always },
    { key: ctx.keys.security, what: 'security', context: () => SECURITY_CONTEXT, sealsPlain: always },
    ...queues.map((q): SealedHash => ({
      key: ctx.keys.queueState(q),
      what: 'state',
      context: (field) => stateContext(q, field),
      sealsPlain: (value) => value.includes('"annotations"'),
    })),
  ];
  const before = await listedSealingKeys(ctx.redis, ctx.keys);
  const progress: ResealProgress = { scanned: 0, resealed: 0, refused: 0, total: 0 };
  for (const h of hashes) progress.total += await ctx.redis.hlen(h.key);
  onProgress({ ...progress });
  for (const h of hashes) {
    await eachValue(ctx.redis, h.key, async (field, value) => {
      progress.scanned++;
      if (!needsSealing(ctx.sealer, h, value)) return;
      let sealed: Buffer;
      try {
        sealed = ctx.codec.reseal(value, () => h.context(field.toString(), value));
      } catch (err) {
        if (!(err instanceof SealedRecordError)) throw err;
        progress.refused++;
        ctx.onRefused({ what: h.what, where: `${h.key} ${field.toString()}`, error: err });
        return;
      }
      if (await ctx.replace(h.key, field, value, sealed)) progress.resealed++;
    });
    onProgress({ ...progress });
  }
  let remaining = 0;
  for (const h of hashes) {
    await eachValue(ctx.redis, h.key, (_field, value) => {
      if (needsSealing(ctx.sealer, h, value)) remaining++;
    });
  }
  const retired: string[] = [];
  if (remaining === 0) {
    for (const id of before) {
      if (id === ctx.sealer.active.id) continue;
      await retireSealingKey(ctx.redis, ctx.keys, id);
      retired.push(id);
    }
  }
  return { ...progress, remaining, retired };
}

const always = (): boolean => true;

/** Whether a stored value is sealed with an older key, or plain and of a kind that is sealed. */
function needsSealing(sealer: Sealer, h: SealedHash, value: Buffer): boolean {
  if (value.length === 0) return false;
  if (!isSealed(value)) return h.sealsPlain(value);
  return sealedKeyId(value) !== sealer.active.id;
}

async function eachValue(redis: RedisClient, key: string, visit: (field: Buffer, value: Buffer) => unknown): Promise<void> {
  let cursor = '0';
  do {
    const [next, flat] = await redis.hscanBuffer(key, cursor, 'COUNT', PAGE);
    for (let i = 0; i + 1 < flat.length; i += 2) await visit(flat[i] as Buffer, flat[i + 1] as Buffer);
    cursor = next.toString();
  } while (cursor !== '0');
}
