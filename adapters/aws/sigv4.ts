// Signature Version 4, checked: the canonical request rebuilt from what arrived (method, path,
// query, the signed headers, the body's hash), the string to sign, the key derived from the access
// key's secret, compared in constant time. Both forms: the Authorization header and a presigned
// query (X-Amz-Signature). Written by hand: AWS's @smithy/signature-v4 signs outgoing requests
// and cannot check one that arrived (it would need the whole request re-created as it was sent).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { AwsError, missingAuthentication, signatureMismatch } from './errors.ts';

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** How far a request's time may be from the broker's, as AWS allows. */
const MAX_SKEW_MS = 15 * 60_000;

export interface SignedRequest {
  method: string;
  /** The path as it arrived, still percent-encoded. */
  rawPath: string;
  /** The query parameters as they arrived (decoded), in order. */
  query: ReadonlyArray<[string, string]>;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Came over HTTP/2: the host travels as `:authority`, which SigV4 signers leave out. */
  http2?: boolean;
}

export interface Credential {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

/** The access key and scope a request claims, or undefined when it is not signed at all. */
export function claimedCredential(req: SignedRequest): Credential | undefined {
  const auth = header(req.headers, 'authorization');
  const raw = auth !== undefined ? /Credential=([^,\s]+)/.exec(auth)?.[1] : queryValue(req.query, 'X-Amz-Credential');
  if (raw === undefined) return undefined;
  const [accessKeyId, date, region, service, terminator] = raw.split('/');
  if (!accessKeyId || !date || !region || !service || terminator !== 'aws4_request') {
    throw new AwsError('IncompleteSignature', `Credential should be scoped to a valid region, not '${raw}'.`, 400);
  }
  return { accessKeyId, date, region, service };
}

/**
 * Checks the request's signature against `secret` (the claimed access key's). Throws the error AWS
 * gives: MissingAuthenticationToken, IncompleteSignature, SignatureDoesNotMatch.
 */
export function verifySignature(req: SignedRequest, secret: string, now = Date.now()): Credential {
  const auth = header(req.headers, 'authorization');
  let signedHeaders: string[];
  let signature: string;
  let amzDate: string | undefined;
  let presigned = false;
  if (auth !== undefined) {
    if (!auth.startsWith(`${ALGORITHM} `))
      throw new AwsError('IncompleteSignature', `Unsupported AWS 'algorithm': '${auth.split(' ')[0] ?? ''}'`);
    const sh = /SignedHeaders=([^,\s]+)/.exec(auth)?.[1];
    const sig = /Signature=([0-9a-f]+)/.exec(auth)?.[1];
    if (sh === undefined || sig === undefined)
      throw new AwsError('IncompleteSignature', 'Authorization header requires SignedHeaders and Signature.');
    signedHeaders = sh.split(';');
    signature = sig;
    amzDate = header(req.headers, 'x-amz-date');
  } else {
    const sig = queryValue(req.query, 'X-Amz-Signature');
    if (sig === undefined) throw missingAuthentication();
    if (queryValue(req.query, 'X-Amz-Algorithm') !== ALGORITHM)
      throw new AwsError('IncompleteSignature', `X-Amz-Algorithm must be ${ALGORITHM}`);
    signedHeaders = (queryValue(req.query, 'X-Amz-SignedHeaders') ?? '').split(';');
    signature = sig;
    amzDate = queryValue(req.query, 'X-Amz-Date');
    presigned = true;
  }
  const cred = claimedCredential(req);
  if (!cred) throw missingAuthentication();
  if (amzDate === undefined || !/^\d{8}T\d{6}Z$/.test(amzDate)) {
    throw new AwsError('IncompleteSignature', 'Authorization requires an X-Amz-Date in ISO 8601 basic format (yyyyMMddTHHmmssZ).');
  }
  const at = Date.parse(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  if (presigned) {
    const expires = Number(queryValue(req.query, 'X-Amz-Expires') ?? '900');
    if (now > at + expires * 1000 || at - now > MAX_SKEW_MS)
      throw signatureMismatch('Signature expired: the presigned request is no longer valid.');
  } else if (Math.abs(now - at) > MAX_SKEW_MS) {
    throw signatureMismatch(`Signature expired: ${amzDate} is now earlier or later than the server's time by more than 15 minutes.`);
  }
  if (!signedHeaders.includes('host') && req.http2 !== true) throw signatureMismatch("'Host' must be a signed header.");
  const canonical = canonicalRequest(req, signedHeaders, presigned);
  const scope = `${cred.date}/${cred.region}/${cred.service}/aws4_request`;
  const toSign = [ALGORITHM, amzDate, scope, sha256(canonical)].join('\n');
  let key = hmac(`AWS4${secret}`, cred.date);
  for (const part of [cred.region, cred.service, 'aws4_request']) key = hmac(key, part);
  const expected = createHmac('sha256', key).update(toSign).digest();
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw signatureMismatch(
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    );
  }
  return cred;
}

function canonicalRequest(req: SignedRequest, signedHeaders: string[], presigned: boolean): string {
  const query = req.query
    .filter(([k]) => !(presigned && k === 'X-Amz-Signature'))
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headers = signedHeaders.map((h) => `${h}:${(header(req.headers, h) ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const bodyHash = sha256(req.body);
  const declared = header(req.headers, 'x-amz-content-sha256');
  if (declared !== undefined && declared !== 'UNSIGNED-PAYLOAD' && declared !== bodyHash) {
    throw signatureMismatch('The x-amz-content-sha256 header does not match the request body.');
  }
  const payload = declared ?? bodyHash;
  return [req.method, canonicalPath(req.rawPath), query, headers, signedHeaders.join(';'), payload].join('\n');
}

/** The path encoded once more, as the SDKs sign it for every service but S3. */
function canonicalPath(rawPath: string): string {
  return rfc3986(rawPath === '' ? '/' : rawPath).replace(/%2F/g, '/');
}

function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function queryValue(query: ReadonlyArray<[string, string]>, name: string): string | undefined {
  return query.find(([k]) => k === name)?.[1];
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
