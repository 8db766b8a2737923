// Authentication (scrypt hashes, anonymous only when allowed) and the ActiveMQ-style
// authorization map (patterns, wildcards, union of matching entries, admin to create).
import { describe, expect, it } from 'vitest';
import { queue, topic } from '../../src/core/destination.ts';
import { NotAuthenticatedError, NotAuthorizedError } from '../../src/shared/errors.ts';
import { hashPassword, isPasswordHash, verifyPassword } from '../../src/security/password.ts';
import { SecurityService, type SecurityConfig } from '../../src/security/security-service.ts';

const base: SecurityConfig = {
  allowAnonymous: false,
  anonymousUser: 'anonymous',
  anonymousGroups: ['anonymous'],
  users: [],
  authorization: [],
  temporaryDestinationGroups: [],
};

describe('passwords', () => {
  it('hashes with a random salt and verifies only the right password', async () => {
    const h1 = await hashPassword('s3cret');
    const h2 = await hashPassword('s3cret');
    expect(h1).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(h1).not.toBe(h2);
    expect(isPasswordHash(h1)).toBe(true);
    expect(await verifyPassword('s3cret', h1)).toBe(true);
    expect(await verifyPassword('s3cret ', h1)).toBe(false);
    expect(await verifyPassword('s3cret', 'not-a-hash')).toBe(false);
  });
});

describe('authentication', () => {
  it('ignores a login when no users are configured and anonymous access is on (as ActiveMQ does)', async () => {
    const open = new SecurityService({ ...base, allowAnonymous: true });
    expect(await open.authenticate('legacy-app', 'whatever')).toMatchObject({ username: 'anonymous', anonymous: true });
    const closed = new SecurityService(base);
    await expect(closed.authenticate('legacy-app', 'whatever')).rejects.toThrow('Bad username or password');
  });

  it('accepts configured users with their groups and refuses bad credentials alike', async () => {
    const s = new SecurityService({ ...base, users: [{ username: 'ann', passwordHash: await hashPassword('pw'), groups: ['ops'] }] });
    const p = await s.authenticate('ann', 'pw');
    expect(p).toMatchObject({ username: 'ann', anonymous: false });
    expect([...p.groups].sort()).toEqual(['everyone', 'ops']);
    await expect(s.authenticate('ann', 'wrong')).rejects.toThrow('Bad username or password');
    await expect(s.authenticate('bob', 'pw')).rejects.toThrow('Bad username or password');
    await expect(s.authenticate(undefined, undefined)).rejects.toThrow(NotAuthenticatedError);
  });

  it('lets anonymous clients in only when configured', async () => {
    const s = new SecurityService({ ...base, allowAnonymous: true });
    const p = await s.authenticate(undefined, undefined);
    expect(p).toMatchObject({ username: 'anonymous', anonymous: true });
    expect(p.groups.has('anonymous')).toBe(true);
  });
});

describe('authorization map', () => {
  const s = new SecurityService({
    ...base,
    authorization: [
      { queue: '>', read: ['admins'], write: ['admins'], admin: ['admins'] },
      { queue: 'orders.>', read: ['apps'], write: ['apps'], admin: [] },
      { topic: 'sensors.*.temp', read: ['everyone'], write: ['devices'], admin: ['devices'] },
    ],
  });
  const user = (...groups: string[]) => ({ username: 'u', groups: new Set([...groups, 'everyone']), anonymous: false });

  it('combines the groups of every matching entry', () => {
    expect(s.isAllowed(user('admins'), 'admin', queue('orders.eu'))).toBe(true);
    expect(s.isAllowed(user('apps'), 'write', queue('orders.eu'))).toBe(true);
    expect(s.isAllowed(user('apps'), 'admin', queue('orders.eu'))).toBe(false);
    expect(s.isAllowed(user('apps'), 'write', queue('billing'))).toBe(false);
  });

  it('keeps queues and topics apart and refuses what no entry covers', () => {
    expect(s.isAllowed(user('admins'), 'read', topic('orders.eu'))).toBe(false);
    expect(s.isAllowed(user(), 'read', topic('sensors.eu.temp'))).toBe(true);
    expect(s.isAllowed(user(), 'write', topic('sensors.eu.temp'))).toBe(false);
    expect(s.isAllowed(user('devices'), 'write', topic('sensors.eu.temp'))).toBe(true);
  });

  it('a wildcard subscription needs an entry covering the whole pattern', () => {
    expect(s.isAllowed(user(), 'read', { kind: 'topic', name: 'sensors.*.temp' })).toBe(true);
    expect(s.isAllowed(user(), 'read', { kind: 'topic', name: 'sensors.>' })).toBe(false);
  });

  it('a name that merely looks temporary gets no temporary-destination pass', () => {
    expect(s.isAllowed(user(), 'write', queue('TEMP.sneaky'))).toBe(false);
    expect(s.isAllowed(user(), 'write', queue('TEMP.real'), true)).toBe(true);
  });

  it('with no entries every authenticated user may do everything', () => {
    const open = new SecurityService(base);
    expect(open.isAllowed(user(), 'admin', queue('anything'))).toBe(true);
  });

  it('check() throws a readable NotAuthorizedError', () => {
    expect(() => s.check(user('apps'), 'read', queue('billing'))).toThrow(NotAuthorizedError);
    expect(() => s.check(user('apps'), 'read', queue('billing'))).toThrow('User u is not authorized to read from queue://billing');
  });
});

describe('authorization patterns for fleets (%u, %c)', () => {
  const fleet = new SecurityService({
    ...base,
    authorization: [
      { topic: 'devices.%u.>', read: ['devices'], write: ['devices'], admin: ['devices'] },
      { topic: 'clients.%c.>', read: ['devices'], write: ['devices'], admin: [] },
      { queue: '%u.>', read: ['devices'], write: ['devices'], admin: ['devices'] },
    ],
  });
  const u1 = { username: 'u1', groups: new Set(['devices', 'everyone']), anonymous: false };
  const dotted = { username: 'u1.x', groups: new Set(['devices', 'everyone']), anonymous: false };

  it('lets one rule serve each device its own subtree, by user and by client id', () => {
    expect(fleet.isAllowed(u1, 'write', topic('devices.u1.temp'))).toBe(true);
    expect(fleet.isAllowed(u1, 'write', topic('devices.u2.temp'))).toBe(false);
    expect(fleet.isAllowed(u1, 'read', queue('u1.inbox'))).toBe(true);
    expect(fleet.isAllowed(u1, 'read', queue('u2.inbox'))).toBe(false);
    expect(fleet.isAllowed(u1, 'read', topic('clients.dev-9.cmd'), false, 'dev-9')).toBe(true);
    expect(fleet.isAllowed(u1, 'read', topic('clients.dev-9.cmd'), false, 'dev-8')).toBe(false);
    expect(fleet.isAllowed(u1, 'read', topic('clients.dev-9.cmd'))).toBe(false);
    expect(() => fleet.check(u1, 'write', topic('devices.u2.temp'))).toThrow(
      'User u1 is not authorized to write to topic://devices.u2.temp',
    );
  });

  it('gives a user whose name holds a separator nothing from a %u rule', () => {
    expect(fleet.isAllowed(dotted, 'write', topic('devices.u1.x.temp'))).toBe(false);
  });

  /** A subscription's topic filter (the topic() helper takes names only). */
  const filter = (name: string) => ({ kind: 'topic' as const, name });

  it('lets a wider wildcard subscription read only what its subscriber may, and refuses one that shares nothing', () => {
    expect(fleet.readScope(u1, filter('devices.u1.>'))).toBe('all');
    const reader = fleet.readScope(u1, filter('devices.>'));
    expect(reader).toEqual({ username: 'u1', groups: ['devices', 'everyone'] });
    const mayRead = fleet.mayRead(reader as Exclude<typeof reader, 'all'>);
    expect(mayRead('devices.u1.temp')).toBe(true);
    expect(mayRead('devices.u2.temp')).toBe(false);
    expect(() => fleet.readScope(u1, filter('other.>'))).toThrow(NotAuthorizedError);
  });

  it('no longer lets `a.*` read `a.>` whole', () => {
    const narrow = new SecurityService({ ...base, authorization: [{ topic: 'a.*', read: ['g'], write: [], admin: [] }] });
    const p = { username: 'p', groups: new Set(['g']), anonymous: false };
    expect(narrow.isAllowed(p, 'read', filter('a.>'))).toBe(false);
    expect(narrow.readScope(p, filter('a.>'))).toMatchObject({ username: 'p' });
  });
});

describe('certificate identities', () => {
  it('takes the name a verified certificate gives, with the listed groups or tls.identityGroups, and no password', async () => {
    const s = new SecurityService({
      ...base,
      users: [
        { username: 'device-17', groups: ['devices'] },
        { username: 'ann', passwordHash: await hashPassword('pw'), groups: ['ops'] },
      ],
      identityGroups: ['fleet'],
    });
    expect(await s.authenticate(undefined, undefined, { certified: 'device-17' })).toEqual({
      username: 'device-17',
      groups: new Set(['devices', 'everyone']),
      anonymous: false,
      certified: true,
    });
    expect(await s.authenticate('someone-else', 'x', { certified: 'device-99' })).toEqual({
      username: 'device-99',
      groups: new Set(['fleet', 'everyone']),
      anonymous: false,
      certified: true,
    });
    // A certificate-only user has no password to sign in with.
    await expect(s.authenticate('device-17', '')).rejects.toThrow(NotAuthenticatedError);
    await expect(s.authenticate('device-17', 'anything')).rejects.toThrow(NotAuthenticatedError);
  });

  it('refuses a certificate that names nobody listed when tls.identityGroups is empty', async () => {
    const s = new SecurityService({ ...base, users: [{ username: 'device-17', groups: ['devices'] }] });
    expect((await s.authenticate(undefined, undefined, { certified: 'device-17' })).username).toBe('device-17');
    await expect(s.authenticate(undefined, undefined, { certified: 'device-99' })).rejects.toThrow(
      /'device-99', who is not a configured user/,
    );
  });
});
