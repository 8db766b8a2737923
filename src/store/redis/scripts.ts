// Loads the Lua scripts (one file per atomic operation, named `<operation>-<number of keys>.lua`, or
// `<operation>.lua` when the caller passes the key count first), puts the shared fencing check
// (fence.lua) and, but for open, the lost-data check (data-present.lua) in front of each store script, and registers them with ioredis, which calls them by
// SHA and re-sends them after a SCRIPT FLUSH. The lease scripts (lua/lease/) decide the epoch
// rather than check it, so they run without the fence.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RedisClient } from './connect.ts';

const DIR = join(import.meta.dirname, 'lua');

export const SCRIPT_NAMES = [
  'open',
  'apply',
  'pageIn',
  'promoteDue',
  'readQueue',
  'browsePaged',
  'reseal',
  'streamPut',
  'streamDelete',
  'streamPositions',
  'streamClaim',
  'streamAppend',
  'streamTrim',
  'streamDrop',
] as const;
/**
 * Scripts that run without the lost-data check: open writes the epoch key, and a stream shard's
 * scripts are fenced by the shard's own epoch key (in its own slot), whose absence they answer themselves.
 */
const WITHOUT_DATA_CHECK = new Set(['open', 'streamClaim', 'streamAppend', 'streamTrim', 'streamDrop']);
/** Each script, and its variant that returns bulk strings as Buffers. */
export type ScriptName = (typeof SCRIPT_NAMES)[number] | `${(typeof SCRIPT_NAMES)[number]}Buffer`;

/** A registered script, as ioredis exposes it on a client or a pipeline (array arguments are flattened). */
export type ScriptCall = (...args: Array<string | number | Buffer | Array<string | number | Buffer>>) => Promise<unknown>;

function camel(s: string): string {
  return s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export const LEASE_SCRIPT_NAMES = ['acquire', 'renew', 'release'] as const;
export type LeaseScriptName = (typeof LEASE_SCRIPT_NAMES)[number];

export function defineLeaseScripts(redis: RedisClient): void {
  const dir = join(DIR, 'lease');
  for (const file of readdirSync(dir)) {
    const m = /^([a-z-]+?)-(\d+)\.lua$/.exec(file);
    if (!m || !(LEASE_SCRIPT_NAMES as readonly string[]).includes(m[1] as string)) throw new Error(`Unknown lease script ${file}`);
    redis.defineCommand(`lease${(m[1] as string).charAt(0).toUpperCase()}${(m[1] as string).slice(1)}`, {
      numberOfKeys: Number(m[2]),
      lua: readFileSync(join(dir, file), 'utf8'),
    });
  }
}

export function defineScripts(redis: RedisClient): void {
  const fence = readFileSync(join(DIR, 'fence.lua'), 'utf8');
  const present = readFileSync(join(DIR, 'data-present.lua'), 'utf8');
  for (const file of readdirSync(DIR)) {
    const m = /^([a-z-]+?)(?:-(\d+))?\.lua$/.exec(file);
    if (!m || file === 'fence.lua' || file === 'data-present.lua') continue;
    const name = camel(m[1] as string);
    if (!(SCRIPT_NAMES as readonly string[]).includes(name)) throw new Error(`Unknown Lua script ${file}`);
    const lua = `${fence}\n${WITHOUT_DATA_CHECK.has(name) ? '' : present}\n${readFileSync(join(DIR, file), 'utf8')}`;
    redis.defineCommand(name, m[2] === undefined ? { lua } : { numberOfKeys: Number(m[2]), lua });
  }
}
