// A broker for the admin tests: every protocol on ephemeral loopback ports, the admin port on an
// ephemeral port, and two users: `admin` (group admins, which admin.groups names) and `app`
// (not an admin), both with the password `s3cret`.
import type { Logger } from 'pino';
import { boundPort } from '../../src/admin/admin-server.ts';
import { hashPassword } from '../../src/security/password.ts';
import type { JunctionServer } from '../../src/server.ts';
import { startAllProtocols } from './server.ts';

export const PASSWORD = 's3cret';

export interface AdminBroker {
  server: JunctionServer;
  /** http://127.0.0.1:PORT */
  url: string;
  /** fetch with the admin's credentials (or `as`'s). */
  call(method: string, path: string, body?: unknown, as?: string): Promise<{ status: number; body: unknown }>;
  stop(): Promise<void>;
}

let hash: Promise<string> | undefined;

export async function startAdminBroker(extra: Record<string, unknown> = {}, log?: Logger): Promise<AdminBroker> {
  hash ??= hashPassword(PASSWORD);
  const passwordHash = await hash;
  const { server } = await startAllProtocols(
    {
      admin: { enabled: true, host: '127.0.0.1', port: 0, ...(extra.admin as object | undefined) },
      security: {
        users: [
          { username: 'admin', passwordHash, groups: ['admins'] },
          { username: 'app', passwordHash, groups: ['apps'] },
        ],
      },
      ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'admin')),
    },
    undefined,
    log,
  );
  const url = `http://127.0.0.1:${boundPort(server.admin!)}`;
  return {
    server,
    url,
    async call(method, path, body, as = 'admin') {
      const headers: Record<string, string> = { authorization: `Basic ${Buffer.from(`${as}:${PASSWORD}`).toString('base64')}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: await res.json().catch(() => undefined) };
    },
    stop: () => server.stop(),
  };
}
