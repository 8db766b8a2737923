// Changes an operator makes to users, their access keys and the authorization entries (the admin
// API, `junction users`): each takes the record as it stands and returns the next one, checked as
// the configuration file is, so a change that would not load at the next start is refused now.
import { randomBytes } from 'node:crypto';
import type { SecurityRecord } from '../core/records.ts';
import { ConfigError, NotFoundError } from '../shared/errors.ts';
import { patternProblem } from './acl-patterns.ts';

type UserRecord = SecurityRecord['users'][number];
type EntryRecord = SecurityRecord['authorization'][number];

export interface UserChange {
  /** Undefined keeps the user's hash (a new user then signs in only with a certificate). */
  passwordHash?: string | undefined;
  /** Undefined keeps the user's groups (none for a new user). */
  groups?: readonly string[] | undefined;
}

/** Names HTTP Basic and every protocol's login can carry. */
export function checkUsername(name: string): void {
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (name.length === 0 || name.length > 255 || /[:\u0000-\u001f\u007f]/.test(name)) {
    throw new ConfigError(`'${name}' is not a username: 1 to 255 characters, no ':' and no control characters`);
  }
}

function checkGroups(groups: readonly string[]): string[] {
  for (const g of groups) if (typeof g !== 'string' || g.trim() === '') throw new ConfigError('a group name may not be empty');
  return [...new Set(groups.map((g) => g.trim()))];
}

export function putUser(record: SecurityRecord, name: string, change: UserChange): { record: SecurityRecord; created: boolean } {
  checkUsername(name);
  if (change.passwordHash !== undefined && !change.passwordHash.startsWith('scrypt$')) {
    throw new ConfigError('a password hash must be one `junction hash-password` made (scrypt$...)');
  }
  const old = record.users.find((u) => u.username === name);
  const next: UserRecord = {
    username: name,
    groups: change.groups !== undefined ? checkGroups(change.groups) : (old?.groups ?? []),
    ...(change.passwordHash !== undefined
      ? { passwordHash: change.passwordHash }
      : old?.passwordHash !== undefined
        ? { passwordHash: old.passwordHash }
        : {}),
    ...(old?.accessKeys ? { accessKeys: old.accessKeys } : {}),
  };
  const users = old ? record.users.map((u) => (u === old ? next : u)) : [...record.users, next];
  return { record: { ...record, users, updatedAt: Date.now() }, created: !old };
}

export function deleteUser(record: SecurityRecord, name: string): SecurityRecord {
  if (!record.users.some((u) => u.username === name)) throw new NotFoundError(`User ${name} does not exist`);
  return { ...record, users: record.users.filter((u) => u.username !== name), updatedAt: Date.now() };
}

export function checkEntry(e: unknown): EntryRecord {
  if (!e || typeof e !== 'object') throw new ConfigError('an authorization entry is an object');
  const x = e as Record<string, unknown>;
  const names = ['queue', 'topic'].filter((k) => x[k] !== undefined);
  if (names.length !== 1) throw new ConfigError('each entry names exactly one of queue or topic');
  const kind = names[0] as 'queue' | 'topic';
  const name = x[kind];
  if (typeof name !== 'string' || name === '') throw new ConfigError(`${kind} must be a destination name or pattern`);
  const problem = patternProblem(name);
  if (problem) throw new ConfigError(`'${name}' ${problem}`);
  const list = (k: string): string[] => {
    const v = x[k] ?? [];
    if (!Array.isArray(v) || v.some((g) => typeof g !== 'string')) throw new ConfigError(`${k} is a list of group names`);
    return checkGroups(v as string[]);
  };
  const unknown = Object.keys(x).filter((k) => !['queue', 'topic', 'read', 'write', 'admin'].includes(k));
  if (unknown.length > 0) throw new ConfigError(`unknown key ${unknown.map((k) => `"${k}"`).join(', ')} in an authorization entry`);
  return { [kind]: name, read: list('read'), write: list('write'), admin: list('admin') };
}

export function setAuthorization(record: SecurityRecord, entries: readonly unknown[]): SecurityRecord {
  return { ...record, authorization: entries.map(checkEntry), updatedAt: Date.now() };
}

export function deleteEntry(record: SecurityRecord, index: number): SecurityRecord {
  if (!Number.isInteger(index) || index < 0 || index >= record.authorization.length) {
    throw new NotFoundError(`There is no authorization entry ${index} (there are ${record.authorization.length})`);
  }
  return { ...record, authorization: record.authorization.filter((_, i) => i !== index), updatedAt: Date.now() };
}

const KEY_ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A new access key for `name`, in AWS's shapes: a 20-character id starting AKIA, a 40-character secret. */
export function addAccessKey(record: SecurityRecord, name: string): { record: SecurityRecord; id: string; secret: string } {
  const user = record.users.find((u) => u.username === name);
  if (!user) throw new NotFoundError(`User ${name} does not exist`);
  const id = `AKIA${[...randomBytes(16)].map((b) => KEY_ID_ALPHABET[b % 32]).join('')}`;
  const secret = randomBytes(30).toString('base64');
  const next: UserRecord = { ...user, accessKeys: [...(user.accessKeys ?? []), { id, secret, createdAt: Date.now() }] };
  return { record: { ...record, users: record.users.map((u) => (u === user ? next : u)), updatedAt: Date.now() }, id, secret };
}

export function deleteAccessKey(record: SecurityRecord, name: string, id: string): SecurityRecord {
  const user = record.users.find((u) => u.username === name);
  if (!user?.accessKeys?.some((k) => k.id === id)) throw new NotFoundError(`User ${name} has no access key ${id}`);
  const next: UserRecord = { ...user, accessKeys: user.accessKeys.filter((k) => k.id !== id) };
  return { ...record, users: record.users.map((u) => (u === user ? next : u)), updatedAt: Date.now() };
}

/** Each group with its members (groups exist through their members). */
export function groupsOf(record: SecurityRecord): Array<{ name: string; members: string[] }> {
  const groups = new Map<string, string[]>();
  for (const u of record.users) for (const g of u.groups) groups.set(g, [...(groups.get(g) ?? []), u.username]);
  return [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([name, members]) => ({ name, members }));
}
