// The web console in a real browser: Debian's chromium driven by playwright-core. A wrong password
// is refused; the admin signs in, sees a queue a STOMP client filled, with its depth, browses a
// message, purges the queue and sees depth 0; the overview lists the AWS APIs' requests and errors;
// the delivery streams view shows a topic rule's stream and what it delivered; the streams views show
// a stream's traffic, shards and named consumers.
// It also leaves a screenshot (CONSOLE_SCREENSHOT=path).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startAdminBroker, type AdminBroker } from '../helpers/admin.ts';
import { RawStomp } from '../helpers/stomp.ts';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

let b: AdminBroker;
let browser: Browser;
let directory: string;

beforeAll(async () => {
  if (!CHROMIUM) throw new Error('chromium is not installed (apt-get install chromium; .ci/run does it)');
  directory = mkdtempSync(join(tmpdir(), 'junction-console-firehose-'));
  b = await startAdminBroker({ firehose: { directory } });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
});

afterAll(async () => {
  await browser?.close();
  await b?.stop();
  rmSync(directory, { recursive: true, force: true });
});

async function signIn(page: Page, user: string, password: string): Promise<void> {
  await page.goto(`${b.url}/console/`);
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
}

describe('web console', () => {
  it('refuses a wrong password and a user outside the admin groups', async () => {
    const page = await browser.newPage();
    try {
      await signIn(page, 'admin', 'wrong');
      await expect.poll(() => page.textContent('.signin .error')).toBe('Bad username or password');
      await signIn(page, 'app', PASSWORD);
      await expect.poll(() => page.textContent('.signin .error')).toMatch(/not in an admin group/);
    } finally {
      await page.close();
    }
  });

  it('shows a queue filled over STOMP with its depth, browses a message, purges it to depth 0', async () => {
    const stomp = await RawStomp.connect(b.server.listeners.port('stomp', 'tcp')!, {
      'accept-version': '1.2',
      host: '/',
      login: 'app',
      passcode: PASSWORD,
    });
    for (let i = 1; i <= 3; i++) {
      stomp.send('SEND', { destination: '/queue/console.orders', persistent: 'true', receipt: `r${i}`, region: 'eu' }, `order-${i}`);
      await stomp.expect('RECEIPT');
    }
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await signIn(page, 'admin', PASSWORD);
      await page.waitForSelector('#role-badge');
      expect(await page.textContent('#role-badge')).toBe('active · epoch 1');
      expect(await page.textContent('#connections')).toBe('1');

      await page.click('a[href="#/queues"]');
      const row = page.locator('tr[data-name="console.orders"]');
      await row.waitFor();
      expect(await row.locator('td[data-col=depth]').textContent()).toBe('3');
      await row.click();
      await page.waitForSelector('#messages');
      expect(await page.locator('#messages tbody tr').count()).toBe(3);
      expect(await page.locator('#messages tbody tr').first().textContent()).toContain('order-1');
      expect(await page.locator('#messages tbody tr').first().textContent()).toContain('"region":"eu"');
      expect(await page.textContent('#depth')).toBe('3');
      if (process.env.CONSOLE_SCREENSHOT) await page.screenshot({ path: process.env.CONSOLE_SCREENSHOT, fullPage: true });

      page.once('dialog', (d) => void d.accept());
      await page.click('button:has-text("Purge")');
      await page.waitForSelector('#no-messages');
      await expect.poll(() => page.textContent('#depth')).toBe('0');
      expect(((await b.call('GET', '/api/queues/console.orders')).body as { depth: number }).depth).toBe(0);
    } finally {
      await page.close();
      stomp.socket.destroy();
    }
  });

  it('lists delivery streams with what they delivered and a failing destination', async () => {
    const made = await b.call('POST', '/api/delivery-streams', {
      name: 'console-lake',
      source: { kind: 'topic', topic: 'console.telemetry' },
      destination: { bucket: 'console-lake', bufferingIntervalSeconds: 0 },
    });
    expect(made.status).toBe(200);
    const stomp = await RawStomp.connect(b.server.listeners.port('stomp', 'tcp')!, {
      'accept-version': '1.2',
      host: '/',
      login: 'app',
      passcode: PASSWORD,
    });
    const page = await browser.newPage();
    try {
      stomp.send('SEND', { destination: '/topic/console.telemetry', persistent: 'true', receipt: 't1' }, 'reading');
      await stomp.expect('RECEIPT');
      await signIn(page, 'admin', PASSWORD);
      await page.waitForSelector('#role-badge');
      await page.click('a[href="#/delivery-streams"]');
      const row = page.locator('tr[data-name="console-lake"]');
      await row.waitFor();
      expect(await row.locator('td[data-col=sourceText]').textContent()).toBe('topic console.telemetry');
      // The destination here is the broker's firehose directory; the record goes there and is counted.
      await expect.poll(() => row.locator('td[data-col=records]').textContent(), { timeout: 10_000 }).toBe('1');
    } finally {
      await page.close();
      stomp.socket.destroy();
    }
  });

  it('lists streams and shows a stream with its shards and named consumers', async () => {
    expect((await b.call('POST', '/api/streams', { name: 'console-telemetry', shards: 2 })).status).toBe(200);
    const stomp = await RawStomp.connect(b.server.listeners.port('stomp', 'tcp')!, {
      'accept-version': '1.2',
      host: '/',
      login: 'app',
      passcode: PASSWORD,
    });
    const page = await browser.newPage();
    try {
      for (let i = 0; i < 3; i++) {
        stomp.send('SEND', { destination: '/stream/console-telemetry', 'x-stream-partition-key': `d${i}`, receipt: `s${i}` }, `t${i}`);
        await stomp.expect('RECEIPT');
      }
      stomp.send('SUBSCRIBE', {
        destination: '/stream/console-telemetry',
        id: 'c',
        'x-stream-offset': 'first',
        'x-stream-consumer-name': 'dashboard',
      });
      for (let i = 0; i < 3; i++) await stomp.expect('MESSAGE');
      stomp.send('UNSUBSCRIBE', { id: 'c', receipt: 'u' });
      await stomp.expect('RECEIPT');
      await signIn(page, 'admin', PASSWORD);
      await page.waitForSelector('#role-badge');
      await page.click('a[href="#/streams"]');
      const row = page.locator('tr[data-name="console-telemetry"]');
      await row.waitFor();
      expect(await row.locator('td[data-col=openShards]').textContent()).toBe('2');
      expect(await row.locator('td[data-col=incomingRecords]').textContent()).toBe('3');
      await row.click();
      await page.waitForSelector('#shards tbody tr');
      expect(await page.textContent('#stream-records')).toBe('3');
      expect(await page.locator('#shards tbody tr').count()).toBe(2);
      await page.locator('#stream-consumers tr[data-name="dashboard"]').waitFor();
    } finally {
      await page.close();
      stomp.socket.destroy();
    }
  });

  it('shows the AWS APIs requests by operation, with the errors by code', async () => {
    const aws = b.server.listeners.port('aws', 'tcp') as number;
    // Unsigned on a broker with users: answered MissingAuthenticationToken, and counted.
    const res = await fetch(`http://127.0.0.1:${aws}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.ListQueues' },
      body: '{}',
    });
    expect(res.status).toBe(403);
    const page = await browser.newPage();
    try {
      await signIn(page, 'admin', PASSWORD);
      const row = page.locator('#api-requests tbody tr', { hasText: 'ListQueues' });
      await row.waitFor({ timeout: 10_000 });
      expect(await row.textContent()).toMatch(/sqsListQueues11MissingAuthenticationToken 1/);
      expect(await page.textContent('#api-requests')).toContain('Long polls waiting');
    } finally {
      await page.close();
    }
  });
});
