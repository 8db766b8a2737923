// Loads the Lua scripts (one file per atomic operation, named `<operation>-<number of keys>.lua`),
// puts the shared fencing check (fence.lua) in front of each mutating one, and registers them with
// ioredis, which calls them by SHA and reloads them after a SCRIPT FLUSH.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';

const DIR = join(import.meta.dirname, 'lua');

export const SCRIPT_NAMES = [
  'open', 'declareQueue', 'enqueue', 'update', 'remove', 'deleteQueue', 'hashSet', 'hashDelete', 'putDedup',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

/** A registered script, as ioredis exposes it on a client or a pipeline. */
export type ScriptCall = (...args: Array<string | number | Buffer>) => Promise<unknown>;

function camel(s: string): string {
  return s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function defineScripts(redis: Redis): void {
  const fence = readFileSync(join(DIR, 'fence.lua'), 'utf8');
  for (const file of readdirSync(DIR)) {
    const m = /^([a-z-]+)-(\d+)\.lua$/.exec(file);
    if (!m) continue;
    const name = camel(m[1] as string);
    if (!(SCRIPT_NAMES as readonly string[]).includes(name)) throw new Error(`Unknown Lua script ${file}`);
    redis.defineCommand(name, { numberOfKeys: Number(m[2]), lua: `${fence}\n${readFileSync(join(DIR, file), 'utf8')}` });
  }
}
