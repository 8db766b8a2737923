// Who may use the admin port: HTTP Basic credentials of the broker's own users, in one of the
// groups `admin.groups` names. Wrong or missing credentials: 401 (with a Basic challenge only for
// clients that are not browsers, so curl asks and no browser caches credentials); a user outside
// those groups: 403. A broker with no users configured
// (anonymous, as its protocols are) lets every request in. Verified credentials are remembered for
// a minute, so the console's polling does not run scrypt on every request.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../core/principal.ts';
import { NotAuthenticatedError } from '../shared/errors.ts';

export interface Authenticator {
  /** Throws NotAuthenticatedError on a bad name or password. */
  authenticate(
    username: string | undefined,
    password: string | undefined,
    opts?: { from?: { protocol: string; address: string } },
  ): Promise<Principal>;
}

const REMEMBER_MS = 60_000;

export class AdminAuth {
  private readonly remembered = new Map<string, { principal: Principal; until: number }>();

  constructor(
    private readonly security: Authenticator,
    private readonly groups: readonly string[],
    /** True while the broker has users (they may be added at run time): credentials are then required. */
    private readonly required: () => boolean,
  ) {}

  get open(): boolean {
    return !this.required();
  }

  /** After users changed at run time: a deleted user or an old password is not taken from memory. */
  forget(): void {
    this.remembered.clear();
  }

  /** Resolves with the caller, or answers 401/403 and resolves undefined. */
  async check(req: FastifyRequest, reply: FastifyReply): Promise<Principal | undefined> {
    const header = req.headers.authorization;
    if (!this.required() && header === undefined) return { username: 'anonymous', groups: new Set(), anonymous: true };
    const creds = parseBasic(header);
    // The console signs in with its own form, and no browser gets a credential dialog whose answer it
    // would then send with every request to this port (also with a form another site submits): the
    // Basic challenge goes only to clients that are not browsers.
    const challenge = req.headers['x-requested-with'] === undefined && req.headers['sec-fetch-site'] === undefined;
    if (!creds) {
      await deny(reply, 401, 'Credentials required: HTTP Basic with a broker user in an admin group', challenge);
      return undefined;
    }
    const now = Date.now();
    let principal = this.remembered.get(header as string);
    if (!principal || principal.until < now) {
      try {
        principal = {
          principal: await this.security.authenticate(creds.user, creds.password, { from: { protocol: 'admin', address: req.ip } }),
          until: now + REMEMBER_MS,
        };
      } catch (err) {
        if (!(err instanceof NotAuthenticatedError)) throw err;
        await deny(reply, 401, 'Bad username or password', challenge);
        return undefined;
      }
      if (this.remembered.size > 1000) this.remembered.clear();
      this.remembered.set(header as string, principal);
    }
    const p = principal.principal;
    if (this.required() && !this.groups.some((g) => p.groups.has(g))) {
      await deny(reply, 403, `User ${p.username} is not in an admin group (${this.groups.join(', ')})`);
      return undefined;
    }
    return p;
  }
}

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

async function deny(reply: FastifyReply, code: 401 | 403, message: string, challenge = false): Promise<void> {
  if (code === 401 && challenge) reply.header('www-authenticate', 'Basic realm="junction", charset="UTF-8"');
  await reply.code(code).send({ error: code === 401 ? 'unauthorized' : 'forbidden', message });
}
