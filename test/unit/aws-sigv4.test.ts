// Signature Version 4 as the broker checks it, against requests signed by AWS's own signer
// (@smithy/signature-v4, what every AWS SDK for JavaScript uses): header and presigned forms,
// a path and query that need encoding, and each way a signature is wrong.
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { AwsError } from '../../adapters/aws/errors.ts';
import { verifySignature, type SignedRequest } from '../../adapters/aws/sigv4.ts';

type Data = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: Data): string | Uint8Array =>
  typeof d === 'string' ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

/** Node's SHA-256 in the shape the signer takes (the SDK's own comes from a package tests do not need). */
class Sha256 {
  private readonly h;
  constructor(secret?: Data) {
    this.h = secret !== undefined ? createHmac('sha256', bytes(secret)) : createHash('sha256');
  }
  update(data: Data): void {
    this.h.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
}

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const signer = new SignatureV4({
  service: 'sqs',
  region: 'eu-west-1',
  credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: SECRET },
  sha256: Sha256,
});
const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);

async function signed(presign: boolean, body = 'Action=ListQueues&Version=2012-11-05'): Promise<SignedRequest> {
  const request = {
    method: 'POST',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: 4566,
    path: '/000000000000/my%20queue',
    query: { 'a b': 'c/d', Action: 'ListQueues' } as Record<string, string>,
    headers: { host: '127.0.0.1:4566', 'content-type': 'application/x-www-form-urlencoded' } as Record<string, string>,
    body,
  };
  const out = presign
    ? await signer.presign(request, { signingDate: new Date(NOW), expiresIn: 300 })
    : await signer.sign(request, { signingDate: new Date(NOW) });
  const headers = Object.fromEntries(Object.entries(out.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    method: out.method,
    rawPath: out.path,
    query: Object.entries(out.query as Record<string, string>),
    headers,
    body: Buffer.from(body),
  };
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return err instanceof AwsError ? err.code : String(err);
  }
  return undefined;
}

describe('SigV4 verification', () => {
  it('accepts what the AWS signer signs, in the header and presigned', async () => {
    expect(verifySignature(await signed(false), SECRET, NOW + 1000).accessKeyId).toBe('AKIAEXAMPLE');
    expect(verifySignature(await signed(true), SECRET, NOW + 1000).service).toBe('sqs');
  });

  it('refuses a wrong secret, a changed body, path or query, and an old signature', async () => {
    const r = await signed(false);
    expect(codeOf(() => verifySignature(r, 'other', NOW))).toBe('SignatureDoesNotMatch');
    expect(codeOf(() => verifySignature({ ...r, body: Buffer.from('Action=DeleteQueue') }, SECRET, NOW))).toBe('SignatureDoesNotMatch');
    expect(codeOf(() => verifySignature({ ...r, rawPath: '/000000000000/other' }, SECRET, NOW))).toBe('SignatureDoesNotMatch');
    expect(codeOf(() => verifySignature({ ...r, query: [...r.query, ['x', 'y']] }, SECRET, NOW))).toBe('SignatureDoesNotMatch');
    expect(codeOf(() => verifySignature(r, SECRET, NOW + 16 * 60_000))).toBe('SignatureDoesNotMatch');
    const p = await signed(true);
    expect(codeOf(() => verifySignature(p, SECRET, NOW + 301_000))).toBe('SignatureDoesNotMatch');
  });

  it('names what is missing', async () => {
    const r = await signed(false);
    const { authorization: _auth, ...unsigned } = r.headers;
    expect(codeOf(() => verifySignature({ ...r, headers: unsigned }, SECRET, NOW))).toBe('MissingAuthenticationToken');
    expect(
      codeOf(() =>
        verifySignature({ ...r, headers: { ...r.headers, authorization: 'AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/x' } }, SECRET, NOW),
      ),
    ).toBe('IncompleteSignature');
  });
});
