// Which admin requests may change state (src/admin/request-origin.ts): reads always; a browser's
// change only from the port's own origin with the console's header; on a broker without users,
// changes only from loopback.
import { describe, expect, it } from 'vitest';
import { isLoopback, refusedChange } from '../../src/admin/request-origin.ts';

const host = '10.0.0.5:8161';
const req = (method: string, headers: Record<string, string> = {}, remoteAddress = '127.0.0.1') => ({
  method,
  remoteAddress,
  headers: { host, ...headers },
});

describe('refusedChange', () => {
  it('lets reads through from anywhere, and changes from clients that are not browsers', () => {
    expect(refusedChange(req('GET', { origin: 'http://evil.example' }, '192.0.2.1'), true)).toBeUndefined();
    expect(refusedChange(req('POST', {}, '192.0.2.1'), false)).toBeUndefined();
    expect(refusedChange(req('DELETE'), true)).toBeUndefined();
  });

  it('refuses a change from afar when the broker has no users', () => {
    expect(refusedChange(req('POST', {}, '192.0.2.1'), true)).toMatch(/only from this machine \(loopback\)/);
    expect(refusedChange(req('POST', {}, '::ffff:127.0.0.1'), true)).toBeUndefined();
  });

  it('refuses a browser change from another site or origin, or without the console header', () => {
    expect(refusedChange(req('POST', { 'sec-fetch-site': 'cross-site' }), false)).toMatch(/Cross-site/);
    expect(refusedChange(req('POST', { 'sec-fetch-site': 'same-site', 'x-requested-with': 'x' }), false)).toMatch(/same-site/);
    expect(refusedChange(req('POST', { origin: 'http://10.0.0.5:9999', 'x-requested-with': 'x' }), false)).toMatch(/Origin/);
    expect(refusedChange(req('PUT', { referer: 'http://evil.example/page' }), false)).toMatch(/Referer/);
    expect(refusedChange(req('POST', { origin: `http://${host}` }), false)).toMatch(/X-Requested-With/);
    expect(
      refusedChange(
        req('POST', { origin: `http://${host}`, 'sec-fetch-site': 'same-origin', 'x-requested-with': 'junction-console' }),
        false,
      ),
    ).toBeUndefined();
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.3.2.1', '::1', '::ffff:127.0.0.1'].map(isLoopback)).toEqual([true, true, true, true]);
    expect(['10.0.0.1', '::ffff:10.0.0.1', '128.0.0.1', ''].map(isLoopback)).toEqual([false, false, false, false]);
  });
});
