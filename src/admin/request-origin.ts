// Which requests may change state through the admin port. A browser sends a signed-in user's
// cached Basic credentials with any request to the port, also with a form another site submits
// (cross-site request forgery), and with no users configured no credentials are needed at all. So
// a state-changing request (any method but GET, HEAD and OPTIONS):
// - from a browser (it carries Origin, Referer or Sec-Fetch-Site) must come from the admin port's own
//   origin and carry the header the console sends (X-Requested-With), which a cross-site form
//   cannot set and a cross-origin script cannot send without a CORS preflight this port never
//   grants;
// - on a broker with no users, must come from a loopback address: anyone who can reach the port
//   could otherwise reconfigure the broker.
// Clients that are not browsers (the junction CLI, curl, scripts) send none of those headers.

export interface RequestFacts {
  method: string;
  /** The peer's IP address. */
  remoteAddress: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The reason a request may not change state, or undefined when it may. */
export function refusedChange(r: RequestFacts, anonymous: boolean): string | undefined {
  if (SAFE.has(r.method.toUpperCase())) return undefined;
  if (anonymous && !isLoopback(r.remoteAddress)) {
    return 'The broker has no users configured: the admin API accepts changes only from this machine (loopback). Configure security.users and admin.groups to manage it remotely.';
  }
  const h = (name: string): string | undefined => {
    const v = r.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const site = h('sec-fetch-site');
  const origin = h('origin');
  const referer = h('referer');
  // (Node's fetch sends Sec-Fetch-Mode too, so that one does not make a browser.)
  const fromBrowser = site !== undefined || origin !== undefined || referer !== undefined;
  if (!fromBrowser) return undefined;
  const host = h('host');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `Cross-site request refused (Sec-Fetch-Site: ${site})`;
  const source = origin ?? referer;
  if (source !== undefined && (host === undefined || hostOf(source) !== host.toLowerCase())) {
    return `Cross-origin request refused: ${origin !== undefined ? 'Origin' : 'Referer'} ${source} is not this admin port`;
  }
  if (h('x-requested-with') === undefined) return 'A browser request that changes state must carry X-Requested-With (as the console sends)';
  return undefined;
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return undefined;
  }
}

export function isLoopback(address: string): boolean {
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d+\.\d+\.\d+$/.test(a);
}
