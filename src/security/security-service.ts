// Authentication and authorization for every protocol. Users come from configuration with scrypt
// password hashes and group memberships. Authorization follows ActiveMQ's authorizationMap: entries
// name a queue or topic pattern (wildcards allowed, and `%u` / `%c` for the user and client id:
// acl-patterns.ts) and the groups holding read, write and admin; the groups of every matching
// entry are combined. With no entries at all, any authenticated user may do anything; with
// entries, a destination no entry matches is refused. A topic subscription wider than what its
// subscriber may read is allowed when the two overlap, and each message is then checked.
import type { SecurityRecord, SubscriptionReader } from '../core/records.ts';
import type { Logger } from 'pino';
import { formatAddress, type Destination } from '../core/destination.ts';
import { NotAuthenticatedError, NotAuthorizedError } from '../shared/errors.ts';
import type { Authorizer, Permission, Principal } from '../core/principal.ts';
import { covers, expandPattern, overlaps, type Subject } from './acl-patterns.ts';
import { SecurityAudit, type AuditSource } from './audit.ts';
import { LoginBudget, type LoginBudgetSettings } from './login-budget.ts';
import { verifyPassword } from './password.ts';

export interface UserConfig {
  username: string;
  /** Absent: the user signs in only with a client certificate. */
  passwordHash?: string | undefined;
  groups: string[];
  /** Keys for the AWS APIs, set through the admin API. */
  accessKeys?: Array<{ id: string; secret: string; createdAt: number }> | undefined;
}

export interface AuthorizationEntry {
  queue?: string | undefined;
  topic?: string | undefined;
  read: string[];
  write: string[];
  admin: string[];
}

export interface SecurityConfig {
  /** Unset: allowed while no user exists. */
  allowAnonymous?: boolean | undefined;
  anonymousUser: string;
  anonymousGroups: string[];
  users: UserConfig[];
  authorization: AuthorizationEntry[];
  /** Groups allowed to use temporary destinations; empty = every authenticated user. */
  temporaryDestinationGroups: string[];
  /** Groups of a client its certificate names who is not among `users` (tls.identityGroups); none: such a client is refused. */
  identityGroups?: string[] | undefined;
  /** The failure budget per client address (security.failedLogins). */
  failedLogins?: LoginBudgetSettings | undefined;
}

export interface AuthenticateOptions {
  /** Who the client's verified TLS certificate names. */
  certified?: string | undefined;
  /** The protocol and address the attempt came from (the audit trail, the failure budget). */
  from?: AuditSource | undefined;
}

export interface CheckOptions {
  /** A temporary destination the broker created. */
  temporary?: boolean | undefined;
  clientId?: string | undefined;
  /** The client's address, for the audit trail. */
  from?: string | undefined;
}

const NO_BUDGET: LoginBudgetSettings = { failures: 0, windowMs: 60_000, stepMs: 1000, maxDelayMs: 10_000 };

/** The group every principal belongs to, usable in authorization entries. */
export const EVERYONE = 'everyone';

/** A valid hash of a random secret, checked for unknown users so their timing matches known ones. */
const DUMMY_HASH = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA==$DknypaUzpSrUwKMxeRSwfvk3h50Zh8FJZqCgYF4I0UQ=';

export class SecurityService implements Authorizer {
  private users = new Map<string, UserConfig>();
  private authorization: AuthorizationEntry[];
  /** Access keys for the AWS APIs, by key id. */
  private accessKeys = new Map<string, { secret: string; username: string }>();
  /** One more at each change made at run time (read checks built before it are rebuilt). */
  private version = 0;
  /**
   * The one principal of anonymous connections: an idle fleet signing in without credentials keeps
   * one object and one set of groups, not one per device. refresh() updates its groups in place.
   */
  private anonymous: Principal | undefined;
  /** Failed logins, refusals and admin changes: logged and counted. */
  readonly audit: SecurityAudit;
  private readonly budget: LoginBudget;

  constructor(
    private readonly config: SecurityConfig,
    private readonly log?: Logger,
  ) {
    for (const u of config.users) this.users.set(u.username, u);
    this.accessKeys = keysOf(config.users);
    this.authorization = config.authorization;
    this.audit = new SecurityAudit(log);
    this.budget = new LoginBudget(config.failedLogins ?? NO_BUDGET);
  }

  /** As configured; unset, anonymous clients are allowed while no user exists (ActiveMQ's way). */
  get allowAnonymous(): boolean {
    return this.config.allowAnonymous ?? this.users.size === 0;
  }

  hasUsers(): boolean {
    return this.users.size > 0;
  }

  /** Users and authorization as they stand, to change and store (admin API). */
  snapshot(): SecurityRecord {
    return {
      users: [...this.users.values()].map((u) => ({
        username: u.username,
        ...(u.passwordHash !== undefined ? { passwordHash: u.passwordHash } : {}),
        groups: [...u.groups],
        ...(u.accessKeys && u.accessKeys.length > 0 ? { accessKeys: u.accessKeys.map((k) => ({ ...k })) } : {}),
      })),
      authorization: this.authorization.map((e) => ({ ...e, read: [...e.read], write: [...e.write], admin: [...e.admin] })),
      updatedAt: Date.now(),
    };
  }

  /** Takes users and authorization set at run time (or, with none stored, the configuration's again). */
  replace(record: Pick<SecurityRecord, 'users' | 'authorization'> | undefined): void {
    const users = record?.users ?? this.config.users;
    this.users = new Map(users.map((u) => [u.username, { ...u, groups: [...u.groups] }]));
    this.accessKeys = keysOf(users);
    this.authorization = record?.authorization ?? this.config.authorization;
    this.version++;
  }

  /** The secret of an access key and the user it signs for (the AWS APIs' SigV4). */
  accessKey(id: string): { secret: string; username: string } | undefined {
    return this.accessKeys.get(id);
  }

  /** An access key's secret and the principal it signs for (its user's groups as they stand). */
  accessKeyPrincipal(id: string): { secret: string; principal: Principal } | undefined {
    const key = this.accessKeys.get(id);
    const user = key && this.users.get(key.username);
    if (!key || !user) return undefined;
    return { secret: key.secret, principal: { username: user.username, groups: new Set([...user.groups, EVERYONE]), anonymous: false } };
  }

  refresh(principal: Principal): 'kept' | 'gone' {
    let groups: readonly string[];
    if (principal.anonymous) {
      // The first user added at run time ends anonymous access unless the configuration allows it.
      if (!this.allowAnonymous) return 'gone';
      groups = this.config.anonymousGroups;
    } else {
      const u = this.users.get(principal.username);
      if (u) groups = u.groups;
      else if (principal.certified && (this.config.identityGroups ?? []).length > 0) groups = this.config.identityGroups ?? [];
      else return 'gone';
    }
    const set = principal.groups as Set<string>;
    set.clear();
    for (const g of groups) set.add(g);
    set.add(EVERYONE);
    return 'kept';
  }

  /**
   * Checks credentials. No username means anonymous, allowed only when configured; with no users
   * configured at all, a username is ignored and the connection is anonymous (ActiveMQ's way). Every failure
   * gives the same message so a client cannot probe which usernames exist.
   */
  async authenticate(username: string | undefined, password: string | undefined, opts: AuthenticateOptions = {}): Promise<Principal> {
    if (opts.certified !== undefined) return this.certifiedPrincipal(opts.certified, username, opts.from);
    const from = opts.from;
    const hold = from ? this.budget.delayFor(from.address) : 0;
    if (from && hold > 0) {
      this.audit.loginThrottled(from, hold);
      await new Promise((resolve) => setTimeout(resolve, hold));
    }
    try {
      return await this.passwordPrincipal(username, password);
    } catch (err) {
      if (err instanceof NotAuthenticatedError) {
        if (from) this.budget.failed(from.address);
        this.audit.loginFailed(username, from, err.message);
      }
      throw err;
    }
  }

  private async passwordPrincipal(username: string | undefined, password: string | undefined): Promise<Principal> {
    if (username !== undefined && username !== '' && this.users.size === 0 && this.allowAnonymous) {
      // ActiveMQ without an authentication plugin accepts any login: clients moved off it keep theirs.
      this.log?.debug({ username }, 'credentials ignored: no users are configured, the connection is anonymous');
      username = undefined;
    }
    if (username === undefined || username === '') {
      if (this.allowAnonymous) {
        this.anonymous ??= {
          username: this.config.anonymousUser,
          groups: new Set([...this.config.anonymousGroups, EVERYONE]),
          anonymous: true,
        };
        return this.anonymous;
      }
      throw new NotAuthenticatedError('Authentication required: this broker does not allow anonymous connections');
    }
    const user = this.users.get(username);
    const ok = await verifyPassword(password ?? '', user?.passwordHash ?? DUMMY_HASH);
    if (!user || !ok) throw new NotAuthenticatedError('Bad username or password', { username });
    return { username, groups: new Set([...user.groups, EVERYONE]), anonymous: false };
  }

  /**
   * A client whose TLS certificate the configured CA verified, named by it (tls.identityFrom): no
   * password is asked, and a username it sends besides is ignored (Mosquitto's
   * use_identity_as_username).
   */
  private certifiedPrincipal(identity: string, claimed: string | undefined, from: AuditSource | undefined): Principal {
    if (claimed !== undefined && claimed !== '' && claimed !== identity) {
      this.log?.debug({ username: claimed, certified: identity }, 'the client certificate names the user: the username sent is ignored');
    }
    const user = this.users.get(identity);
    const groups = user ? user.groups : (this.config.identityGroups ?? []);
    if (!user && groups.length === 0) {
      const reason = `The client certificate names '${identity}', who is not a configured user (tls.identityGroups admits unlisted certificates)`;
      this.audit.loginFailed(identity, from, reason);
      throw new NotAuthenticatedError(reason, { username: identity });
    }
    return { username: identity, groups: new Set([...groups, EVERYONE]), anonymous: false, certified: true };
  }

  isAllowed(principal: Principal, permission: Permission, d: Destination, temporary = false, clientId?: string): boolean {
    if (temporary) {
      const g = this.config.temporaryDestinationGroups;
      return g.length === 0 || g.some((x) => principal.groups.has(x));
    }
    const entries = this.authorization;
    if (entries.length === 0) return true;
    // Every publish passes here: no list is built, and only a pattern that names the subject is expanded.
    const subject: Subject = { username: principal.username, clientId };
    for (const e of entries) {
      const pattern = d.kind === 'queue' ? e.queue : e.topic;
      if (pattern === undefined || !e[permission].some((g) => principal.groups.has(g))) continue;
      const expanded = pattern.includes('%') ? expandPattern(pattern, subject) : pattern;
      // A subscription's filter is allowed whole when one pattern covers it: `a.>` covers `a.*`, not the reverse.
      if (expanded !== undefined && covers(expanded, d.name)) return true;
    }
    return false;
  }

  check(principal: Principal, permission: Permission, d: Destination, opts: CheckOptions = {}): void {
    if (this.isAllowed(principal, permission, d, opts.temporary, opts.clientId)) return;
    this.audit.refused(principal.username, permission, formatAddress(d), opts.from);
    throw refusal(principal, permission, d);
  }

  readScope(principal: Principal, filter: Destination, clientId?: string): 'all' | SubscriptionReader {
    if (this.isAllowed(principal, 'read', filter, false, clientId)) return 'all';
    if (!this.patterns(principal, principal.groups, 'read', 'topic', clientId).some((p) => overlaps(p, filter.name))) {
      this.audit.refused(principal.username, 'read', formatAddress(filter), undefined);
      throw refusal(principal, 'read', filter);
    }
    return { username: principal.username, groups: [...principal.groups], ...(clientId !== undefined ? { clientId } : {}) };
  }

  /**
   * Rebuilt after a change at run time: the reader's groups are its user's as they stand (the
   * stored ones only for a user not listed, a certificate's), and the entries too.
   */
  mayRead(reader: SubscriptionReader): (topicName: string) => boolean {
    let built = -1;
    let allowed: string[] | 'all' = 'all';
    return (name) => {
      if (built !== this.version) {
        built = this.version;
        const groups = new Set(this.users.get(reader.username)?.groups ?? reader.groups);
        groups.add(EVERYONE);
        allowed = this.authorization.length === 0 ? 'all' : this.patterns(reader, groups, 'read', 'topic', reader.clientId);
      }
      return allowed === 'all' || allowed.some((p) => covers(p, name));
    };
  }

  /** The patterns of `kind` whose `permission` one of `groups` holds, expanded for this subject. */
  private patterns(
    who: Subject,
    groups: ReadonlySet<string>,
    permission: Permission,
    kind: Destination['kind'],
    clientId?: string,
  ): string[] {
    const subject: Subject = { username: who.username, clientId: clientId ?? who.clientId };
    const out: string[] = [];
    for (const e of this.authorization) {
      const pattern = kind === 'queue' ? e.queue : e.topic;
      if (pattern === undefined || !e[permission].some((g) => groups.has(g))) continue;
      const expanded = expandPattern(pattern, subject);
      if (expanded !== undefined) out.push(expanded);
    }
    return out;
  }
}

function keysOf(users: readonly UserConfig[]): Map<string, { secret: string; username: string }> {
  return new Map(users.flatMap((u) => (u.accessKeys ?? []).map((k) => [k.id, { secret: k.secret, username: u.username }] as const)));
}

function refusal(principal: Principal, permission: Permission, d: Destination): NotAuthorizedError {
  const verb = { read: 'read from', write: 'write to', admin: 'create' }[permission];
  return new NotAuthorizedError(`User ${principal.username} is not authorized to ${verb} ${formatAddress(d)}`, {
    user: principal.username,
    permission,
    destination: formatAddress(d),
  });
}
