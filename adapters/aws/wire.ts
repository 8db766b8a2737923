// The AWS wire protocols a request may arrive in, and the answer in the same one: JSON 1.0/1.1
// (`X-Amz-Target: <Service>.<Operation>`, a JSON body), its CBOR twin (the same target, an
// `application/x-amz-cbor-1.1` body: what the Java SDK and the KCL send to Kinesis) and the query
// protocol (`Action=` in a form body or the query string, answered in XML). Errors in each
// protocol's shape, with the request id and, for JSON, the `x-amzn-query-error` header that
// query-compatible SDKs read. A handler's output may hold Buffers (blobs) and Dates (timestamps):
// JSON writes them as base64 and epoch seconds, CBOR as byte strings and tag-1 times.
import { Decoder, Encoder } from 'cbor-x';
import { AwsError, invalidAction } from './errors.ts';
import { decodeQuery, encodeQueryResponse, QueryValueError, xmlEscape, type JsonObject } from './model/shape.ts';
import type { AwsService } from './service.ts';

export type WireProtocol = 'json' | 'cbor' | 'query';

export const CBOR_CONTENT_TYPE = 'application/x-amz-cbor-1.1';
const cborDecoder = new Decoder({ mapsAsObjects: true });
const cborEncoder = new Encoder({ useRecords: false, tagUint8Array: false, mapsAsObjects: true });

export interface DecodedRequest {
  service: AwsService;
  protocol: WireProtocol;
  action: string;
  input: JsonObject;
}

export interface EncodedResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

export interface RawRequest {
  target: string | undefined;
  contentType: string;
  query: ReadonlyArray<[string, string]>;
  body: Buffer;
  /** The credential scope's service of a signed request. */
  signingName: string | undefined;
}

/** Which service, operation and input a request names; AwsError when it names none. */
export function decodeRequest(services: readonly AwsService[], raw: RawRequest): DecodedRequest {
  if (raw.target !== undefined) {
    const dot = raw.target.lastIndexOf('.');
    const prefix = raw.target.slice(0, dot);
    const service = services.find((s) => s.jsonTargetPrefix === prefix);
    const action = raw.target.slice(dot + 1);
    if (!service || dot < 0 || !service.model.operations[action]) {
      throw new AwsError('UnknownOperationException', `Unknown operation ${raw.target}`, 400, true);
    }
    if (raw.contentType.startsWith('application/x-amz-cbor')) return { service, protocol: 'cbor', action, input: parseCborBody(raw.body) };
    return { service, protocol: 'json', action, input: parseJsonBody(raw.body) };
  }
  const params = new Map<string, string>(raw.query);
  if (raw.contentType.startsWith('application/x-www-form-urlencoded') && raw.body.length > 0) {
    for (const [k, v] of new URLSearchParams(raw.body.toString('utf8'))) params.set(k, v);
  }
  const action = params.get('Action');
  if (action === undefined || action === '') throw new AwsError('MissingAction', 'The request must contain the parameter Action.');
  const version = params.get('Version');
  const service =
    services.find((s) => s.model.apiVersion === version) ??
    services.find((s) => s.signingName === raw.signingName) ??
    services.find((s) => s.model.operations[action] !== undefined);
  const op = service?.model.operations[action];
  if (!service || !op) throw invalidAction(action);
  try {
    return { service, protocol: 'query', action, input: op.input !== undefined ? decodeQuery(service.model, op.input, params) : {} };
  } catch (err) {
    if (err instanceof QueryValueError) throw new AwsError('InvalidParameterValue', err.message);
    throw err;
  }
}

function parseJsonBody(body: Buffer): JsonObject {
  if (body.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw new AwsError('SerializationException', 'The request body is not valid JSON.', 400);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new AwsError('SerializationException', 'The request body must be a JSON object.', 400);
  return v as JsonObject;
}

function parseCborBody(body: Buffer): JsonObject {
  if (body.length === 0) return {};
  let v: unknown;
  try {
    v = cborDecoder.decode(body);
  } catch {
    throw new AwsError('SerializationException', 'The request body is not valid CBOR.', 400);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array || v instanceof Date)
    throw new AwsError('SerializationException', 'The request body must be a CBOR map.', 400);
  return v as JsonObject;
}

/** The output in JSON's terms: blobs as base64, timestamps as epoch seconds (a walk, not a replacer: Buffer's toJSON would run first). */
function jsonWire(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (v instanceof Date) return v.getTime() / 1000;
  if (Array.isArray(v)) return v.map(jsonWire);
  const out: Record<string, unknown> = {};
  for (const k in v) out[k] = jsonWire((v as Record<string, unknown>)[k]);
  return out;
}

/** An event's payload in the request's protocol (JSON or CBOR), and its content type. */
export function encodeEventPayload(req: DecodedRequest, payload: JsonObject): { body: Buffer; contentType: string } {
  if (req.protocol === 'cbor') return { body: cborEncoder.encode(payload), contentType: 'application/cbor' };
  return { body: Buffer.from(JSON.stringify(jsonWire(payload))), contentType: 'application/json' };
}

export function encodeResponse(req: DecodedRequest, output: JsonObject | undefined, requestId: string): EncodedResponse {
  if (req.protocol === 'json') {
    return {
      status: 200,
      headers: { 'content-type': `application/x-amz-json-${req.service.jsonVersion ?? '1.0'}`, 'x-amzn-requestid': requestId },
      body: JSON.stringify(jsonWire(output ?? {})),
    };
  }
  if (req.protocol === 'cbor') {
    return {
      status: 200,
      headers: { 'content-type': CBOR_CONTENT_TYPE, 'x-amzn-requestid': requestId },
      body: cborEncoder.encode(output ?? {}),
    };
  }
  return {
    status: 200,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body: encodeQueryResponse(req.service.model, req.action, output, requestId),
  };
}

export function encodeError(protocol: WireProtocol, err: AwsError, requestId: string, service: AwsService | undefined): EncodedResponse {
  const fault = err.sender ? 'Sender' : 'Receiver';
  if (protocol === 'cbor') {
    const ns = service?.jsonNamespace;
    return {
      status: err.status,
      headers: { 'content-type': CBOR_CONTENT_TYPE, 'x-amzn-requestid': requestId, 'x-amzn-errortype': err.shape },
      body: cborEncoder.encode({ __type: ns !== undefined ? `${ns}#${err.shape}` : err.shape, message: err.message }),
    };
  }
  if (protocol === 'json') {
    const ns = service?.jsonNamespace;
    return {
      status: err.status,
      headers: {
        'content-type': `application/x-amz-json-${service?.jsonVersion ?? '1.0'}`,
        'x-amzn-requestid': requestId,
        'x-amzn-query-error': `${err.code};${fault}`,
      },
      body: JSON.stringify({ __type: ns !== undefined ? `${ns}#${err.shape}` : err.shape, message: err.message }),
    };
  }
  return {
    status: err.status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body:
      `<?xml version="1.0"?><ErrorResponse xmlns="${service?.model.xmlNamespace ?? ''}"><Error><Type>${fault}</Type>` +
      `<Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message><Detail/></Error>` +
      `<RequestId>${requestId}</RequestId></ErrorResponse>`,
  };
}
