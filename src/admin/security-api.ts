// The admin API's users, groups, access keys and authorization entries (RabbitMQ's shapes where
// they fit: PUT /api/users/{name} with `password` or `password_hash` and `tags`). A change is
// stored first (the standby reads it when it takes over), then in force at once: new logins and
// checks use it, connected clients get their user's new groups, a deleted user's connections close
// and a consumer of what its user may no longer read is ended. Password hashes and secrets are
// never answered, but an access key's secret once, when it is made.
import type { Broker } from '../core/broker.ts';
import type { SecurityRecord } from '../core/records.ts';
import { hashPassword } from '../security/password.ts';
import {
  addAccessKey,
  checkEntry,
  deleteAccessKey,
  deleteEntry,
  deleteUser,
  groupsOf,
  putUser,
  setAuthorization,
} from '../security/security-edits.ts';
import { ConfigError, NotFoundError } from '../shared/errors.ts';
import type { ApiRoute } from './api.ts';

/** The security service as the API changes it. */
export interface SecurityAdminSource {
  snapshot(): SecurityRecord;
  replace(record: SecurityRecord): void;
}

const NAME = { type: 'string', minLength: 1 };
const GROUPS = { type: 'array', items: NAME };
const ENTRY = {
  type: 'object',
  properties: { queue: NAME, topic: NAME, read: GROUPS, write: GROUPS, admin: GROUPS },
  additionalProperties: false,
};

function userView(u: SecurityRecord['users'][number]): Record<string, unknown> {
  return {
    name: u.username,
    groups: u.groups,
    tags: u.groups.join(','),
    password: u.passwordHash !== undefined,
    accessKeys: (u.accessKeys ?? []).map((k) => ({ accessKeyId: k.id, createdAt: new Date(k.createdAt).toISOString() })),
  };
}

function findUser(record: SecurityRecord, name: string): SecurityRecord['users'][number] {
  const u = record.users.find((x) => x.username === name);
  if (!u) throw new NotFoundError(`User ${name} does not exist`);
  return u;
}

/** `tags` as RabbitMQ sends them (a comma-separated string, or a list), else `groups`. */
function groupsIn(body: Record<string, unknown>): string[] | undefined {
  const tags = body.tags;
  if (typeof tags === 'string')
    return tags
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
  if (Array.isArray(tags)) return tags as string[];
  return body.groups as string[] | undefined;
}

export function securityRoutes(security: SecurityAdminSource, forgetLogins: () => void): ApiRoute[] {
  /** Stores the next record, puts it in force, and brings connected clients in line. */
  const commit = async (broker: Broker, next: SecurityRecord): Promise<{ connectionsClosed: number; consumersEnded: number }> => {
    await broker.saveSecurity(next);
    security.replace(next);
    forgetLogins();
    return broker.reviewAccess();
  };
  return [
    {
      method: 'GET',
      url: '/api/users',
      tag: 'security',
      summary: 'Users, their groups and access key ids (never a password hash or a secret)',
      run: () => security.snapshot().users.map(userView),
    },
    {
      method: 'GET',
      url: '/api/users/:name',
      tag: 'security',
      summary: 'One user',
      run: ({ params }) => userView(findUser(security.snapshot(), params.name as string)),
    },
    {
      method: 'PUT',
      url: '/api/users/:name',
      tag: 'security',
      summary: 'Create or change a user: password (hashed here) or password_hash, and groups (or RabbitMQ tags); what is left out is kept',
      body: {
        type: 'object',
        properties: {
          password: { type: 'string', minLength: 1 },
          password_hash: { type: 'string' },
          groups: GROUPS,
          tags: { anyOf: [{ type: 'string' }, GROUPS] },
        },
        additionalProperties: false,
      },
      change: 'put user',
      run: async ({ broker, params, body }) => {
        if (body.password !== undefined && body.password_hash !== undefined)
          throw new ConfigError('give password or password_hash, not both');
        const passwordHash =
          typeof body.password === 'string' ? await hashPassword(body.password) : (body.password_hash as string | undefined);
        const { record, created } = putUser(security.snapshot(), params.name as string, { passwordHash, groups: groupsIn(body) });
        const review = await commit(broker, record);
        return { ...userView(findUser(record, params.name as string)), created, ...review };
      },
    },
    {
      method: 'DELETE',
      url: '/api/users/:name',
      tag: 'security',
      summary: 'Delete a user: its connections are closed, its access keys go with it',
      change: 'delete user',
      run: async ({ broker, params }) => ({
        deleted: true,
        ...(await commit(broker, deleteUser(security.snapshot(), params.name as string))),
      }),
    },
    {
      method: 'GET',
      url: '/api/groups',
      tag: 'security',
      summary: 'Groups and their members (a group exists through its members)',
      run: () => groupsOf(security.snapshot()),
    },
    {
      method: 'POST',
      url: '/api/users/:name/access-keys',
      tag: 'security',
      summary: 'Make an access key for the AWS APIs: its secret is answered this once',
      change: 'add access key',
      run: async ({ broker, params }) => {
        const made = addAccessKey(security.snapshot(), params.name as string);
        await commit(broker, made.record);
        return { accessKeyId: made.id, secretAccessKey: made.secret, user: params.name };
      },
    },
    {
      method: 'DELETE',
      url: '/api/users/:name/access-keys/:id',
      tag: 'security',
      summary: 'Delete an access key',
      change: 'delete access key',
      run: async ({ broker, params }) => {
        await commit(broker, deleteAccessKey(security.snapshot(), params.name as string, params.id as string));
        return { deleted: true };
      },
    },
    {
      method: 'GET',
      url: '/api/permissions',
      tag: 'security',
      summary: 'The authorization entries, in order (an entry is addressed by its position)',
      run: () => security.snapshot().authorization.map((e, index) => ({ index, ...e })),
    },
    {
      method: 'PUT',
      url: '/api/permissions',
      tag: 'security',
      summary: 'Replace every authorization entry; rights revoked end the consumers that relied on them',
      body: {
        type: 'object',
        properties: { entries: { type: 'array', items: ENTRY } },
        required: ['entries'],
        additionalProperties: false,
      },
      change: 'set permissions',
      run: async ({ broker, body }) => {
        const record = setAuthorization(security.snapshot(), body.entries as unknown[]);
        return { entries: record.authorization.length, ...(await commit(broker, record)) };
      },
    },
    {
      method: 'POST',
      url: '/api/permissions',
      tag: 'security',
      summary: 'Add one authorization entry at the end',
      body: ENTRY,
      change: 'add permission',
      run: async ({ broker, body }) => {
        const current = security.snapshot();
        const record = { ...current, authorization: [...current.authorization, checkEntry(body)], updatedAt: Date.now() };
        return { index: record.authorization.length - 1, ...(await commit(broker, record)) };
      },
    },
    {
      method: 'DELETE',
      url: '/api/permissions/:index',
      tag: 'security',
      summary: 'Delete the authorization entry at this position; rights revoked end the consumers that relied on them',
      change: 'delete permission',
      run: async ({ broker, params }) => ({
        deleted: true,
        ...(await commit(broker, deleteEntry(security.snapshot(), Number(params.index)))),
      }),
    },
  ];
}
