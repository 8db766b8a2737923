// Cross-site request forgery against the admin port, in a real browser (Debian's chromium through
// playwright-core): a page on another origin submits a form that would purge a queue, and runs a
// script that tries the same with fetch. The browser holds the admin's Basic credentials (as after
// a credential dialog), or the broker has no users at all; either way nothing is purged, while the
// console and the CLI-style client (no browser headers) still change state.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { boundPort } from '../../src/admin/admin-server.ts';
import type { JunctionServer } from '../../src/server.ts';
import { PASSWORD, startAdminBroker, type AdminBroker } from '../helpers/admin.ts';
import { startAllProtocols } from '../helpers/server.ts';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

let browser: Browser;
let attacker: Server;
let attackerUrl: string;
/** The page the attacker serves: a form posting to `target` that submits itself, and a fetch to the same. */
let target = '';

beforeAll(async () => {
  if (!CHROMIUM) throw new Error('chromium is not installed (apt-get install chromium; .ci/run does it)');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  attacker = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><html><body>
      <form id="f" method="POST" enctype="text/plain" action="${target}"><input name="x" value="1"></form>
      <script>
        fetch(${JSON.stringify(target)}, { method: 'POST', credentials: 'include', headers: { 'x-requested-with': 'junction-console' } })
          .then(() => (document.title = 'fetch-done'), () => (document.title = 'fetch-failed'))
          .finally(() => document.getElementById('f').submit());
      </script></body></html>`);
  });
  attacker.listen(0, '127.0.0.1');
  await once(attacker, 'listening');
  // localhost, not 127.0.0.1: another origin (and another site) than the admin port's.
  attackerUrl = `http://localhost:${(attacker.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await browser?.close();
  attacker?.close();
});

let context: BrowserContext | undefined;
let b: AdminBroker | undefined;
let anonymous: JunctionServer | undefined;
afterEach(async () => {
  await context?.close();
  context = undefined;
  await b?.stop();
  b = undefined;
  await anonymous?.stop();
  anonymous = undefined;
});

async function fill(server: JunctionServer, queue: string): Promise<void> {
  for (let i = 0; i < 3; i++)
    await server.broker.publish({ destination: { kind: 'queue', name: queue }, body: Buffer.from(`m${i}`) }, { connectionId: 'test' });
}

/** Opens the attacker's page and waits until its form has posted and the browser shows the answer. */
async function visitAttacker(ctx: BrowserContext): Promise<{ status: number | undefined }> {
  const page = await ctx.newPage();
  const answer = page.waitForResponse(
    (r) => r.url() === target && r.request().method() === 'POST' && r.request().resourceType() === 'document',
    {
      timeout: 10_000,
    },
  );
  await page.goto(attackerUrl);
  const status = (await answer).status();
  return { status };
}

describe('the admin port against cross-site requests', () => {
  it("a cross-origin form and fetch cannot purge a queue with the admin's cached Basic credentials", async () => {
    b = await startAdminBroker();
    await fill(b.server, 'csrf.orders');
    target = `${b.url}/api/queues/csrf.orders/purge`;
    // The browser sends the admin's credentials with every request to the admin port, as one does
    // once a user has answered a credential dialog there.
    const basic = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;
    context = await browser.newContext({ extraHTTPHeaders: { authorization: basic } });
    const probe = await context.newPage();
    expect((await probe.goto(`${b.url}/api/broker`))?.status()).toBe(200);
    const { status } = await visitAttacker(context);
    expect(status).toBe(403);
    expect(b.server.broker.getQueue('csrf.orders')?.messages).toBe(3);
    // The same change from a client that is not a browser still works.
    expect((await b.call('POST', '/api/queues/csrf.orders/purge')).body).toEqual({ purged: 3 });
  });

  it('on a broker with no users, a cross-origin form cannot purge a queue either', async () => {
    anonymous = (await startAllProtocols({ admin: { enabled: true, host: '127.0.0.1', port: 0 } })).server;
    await fill(anonymous, 'csrf.open');
    const url = `http://127.0.0.1:${boundPort(anonymous.admin!)}`;
    target = `${url}/api/queues/csrf.open/purge`;
    context = await browser.newContext();
    const { status } = await visitAttacker(context);
    expect(status).toBe(403);
    expect(anonymous.broker.getQueue('csrf.open')?.messages).toBe(3);
    // From loopback, without browser headers (the CLI, curl), the change is made.
    const res = await fetch(target, { method: 'POST' });
    expect(await res.json()).toEqual({ purged: 3 });
  });
});
