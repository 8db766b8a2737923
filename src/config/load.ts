// Loading configuration: the YAML file (optional), then JUNCTION_* environment overrides, then
// validation. Overrides name a key path with `__` between levels, case-insensitively:
// JUNCTION_LISTENERS__MQTT__PORT=1884, JUNCTION_LOG__LEVEL=debug. Values are read as YAML
// scalars, so numbers, booleans and [lists] work.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../shared/errors.ts';
import { configSchema, type JunctionConfig } from '../protocols.ts';

export const ENV_PREFIX = 'JUNCTION_';
/** JUNCTION_* variables that are not configuration keys. */
const NOT_CONFIG = new Set(['JUNCTION_CONFIG']);

export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): JunctionConfig {
  let raw: unknown = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`Cannot read config file ${file}: ${(err as Error).message}`, { file });
    }
    try {
      raw = parseYaml(text) ?? {};
    } catch (err) {
      throw new ConfigError(`Config file ${file} is not valid YAML: ${(err as Error).message}`, { file });
    }
    if (typeof raw !== 'object' || Array.isArray(raw))
      throw new ConfigError(`Config file ${file} must hold a mapping at the top`, { file });
  }
  applyEnv(raw as Record<string, unknown>, env);
  if (env.REDIS_URL) setPath(raw as Record<string, unknown>, ['store', 'redis', 'url'], env.REDIS_URL, 'REDIS_URL');
  return validateConfig(raw, file);
}

export function validateConfig(raw: unknown, source = 'configuration'): JunctionConfig {
  const r = configSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(top level)'}: ${describeIssue(i)}`);
    throw new ConfigError(`Invalid ${source}:\n${lines.join('\n')}`, { source });
  }
  return r.data;
}

function describeIssue(i: z.core.$ZodIssue): string {
  if (i.code === 'invalid_value') return `must be one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (i.code === 'unrecognized_keys') return `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`;
  return i.message;
}

function applyEnv(target: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || NOT_CONFIG.has(name) || value === undefined) continue;
    const path = name
      .slice(ENV_PREFIX.length)
      .split('__')
      .filter((s) => s.length > 0);
    if (path.length === 0) continue;
    setPath(target, path, parseScalar(value), name);
  }
}

function parseScalar(v: string): unknown {
  try {
    return parseYaml(v) ?? v;
  } catch {
    return v;
  }
}

/** Sets a value at a case-insensitive path, keeping an existing key's spelling. */
function setPath(obj: Record<string, unknown>, path: string[], value: unknown, envName: string): void {
  let node: Record<string, unknown> = obj;
  for (let i = 0; i < path.length; i++) {
    const wanted = (path[i] as string).toLowerCase().replace(/_/g, '');
    const key = Object.keys(node).find((k) => k.toLowerCase() === wanted) ?? knownKey(wanted) ?? (path[i] as string);
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (next !== undefined && (typeof next !== 'object' || next === null || Array.isArray(next))) {
      throw new ConfigError(`${envName} sets a key below "${key}", which is not a section`, { env: envName });
    }
    if (next === undefined) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
}

const KNOWN_KEYS = new Map<string, string>();
(function collect(schema: unknown): void {
  const shape = shapeOf(schema);
  if (!shape) return;
  for (const [k, v] of Object.entries(shape)) {
    KNOWN_KEYS.set(k.toLowerCase(), k);
    collect(v);
  }
})(configSchema);

function shapeOf(s: unknown): Record<string, unknown> | undefined {
  // zod keeps wrapped schemas under def.innerType / def.in; objects expose `shape`.
  let cur = s as { shape?: Record<string, unknown>; def?: { innerType?: unknown; in?: unknown; element?: unknown } } | undefined;
  for (let depth = 0; cur && depth < 10; depth++) {
    if (cur.shape) return cur.shape;
    cur = (cur.def?.innerType ?? cur.def?.in ?? cur.def?.element) as typeof cur;
  }
  return undefined;
}

function knownKey(lower: string): string | undefined {
  return KNOWN_KEYS.get(lower);
}
