// The CLI's way to a running broker: its admin API over HTTP, with the URL and credentials from
// flags or the environment (JUNCTION_ADMIN_URL, JUNCTION_ADMIN_USER, JUNCTION_ADMIN_PASSWORD).
// Failures become one readable sentence: unreachable, wrong credentials, not an admin, standby,
// or the API's own message.

export interface AdminTarget {
  url: string;
  user?: string | undefined;
  password?: string | undefined;
}

export class AdminRequestError extends Error {
  constructor(
    message: string,
    /** The HTTP status, when the broker answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export function adminTarget(opts: { url?: string; user?: string; password?: string }, env: NodeJS.ProcessEnv = process.env): AdminTarget {
  return {
    url: (opts.url ?? env.JUNCTION_ADMIN_URL ?? 'http://127.0.0.1:8161').replace(/\/+$/, ''),
    user: opts.user ?? env.JUNCTION_ADMIN_USER,
    password: opts.password ?? env.JUNCTION_ADMIN_PASSWORD,
  };
}

export async function adminRequest(t: AdminTarget, method: string, path: string, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = {};
  if (t.user !== undefined) headers.authorization = `Basic ${Buffer.from(`${t.user}:${t.password ?? ''}`).toString('base64')}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  headers['x-requested-with'] = 'junction-cli';
  let res: Response;
  try {
    res = await fetch(`${t.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    const cause = (err as Error).cause as Error | undefined;
    throw new AdminRequestError(`cannot reach the broker's admin port at ${t.url}: ${cause?.message ?? (err as Error).message}`);
  }
  const data = (await res.json().catch(() => ({}))) as { message?: string };
  if (res.status === 401) {
    throw new AdminRequestError(
      t.user === undefined
        ? `the broker at ${t.url} needs credentials: --user and --password (or JUNCTION_ADMIN_USER, JUNCTION_ADMIN_PASSWORD)`
        : `wrong credentials for ${t.user} at ${t.url}`,
    );
  }
  if (res.status === 403) throw new AdminRequestError(data.message ?? `${t.user} may not use the admin API`);
  if (!res.ok) throw new AdminRequestError(data.message ?? `${method} ${path}: HTTP ${res.status}`, res.status);
  return data;
}
