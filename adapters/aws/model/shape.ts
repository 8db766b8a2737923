// The AWS service model as the wire codecs read it (the generated <service>-shapes.ts files), and
// the two conversions the query protocol needs: a form-encoded request into the JSON-shaped input
// every operation handler takes, and an operation's JSON-shaped output into the query protocol's
// XML. Written by hand: the AWS SDKs' own codecs are generated per client, serialize requests and
// parse responses (the opposite direction), and no maintained npm package serves these protocols.
// The rules are botocore's QuerySerializer and QueryParser, read in reverse.

export interface MemberRef {
  readonly shape: string;
  readonly locationName?: string;
}

export interface Shape {
  readonly type: string;
  readonly flattened?: boolean;
  readonly members?: Readonly<Record<string, MemberRef>>;
  readonly required?: readonly string[];
  readonly member?: MemberRef;
  readonly key?: MemberRef;
  readonly value?: MemberRef;
}

export interface OperationModel {
  readonly input?: string;
  readonly output?: string;
  readonly resultWrapper?: string;
}

export interface ServiceModel {
  readonly xmlNamespace: string;
  readonly apiVersion: string;
  readonly operations: Readonly<Record<string, OperationModel>>;
  readonly shapes: Readonly<Record<string, Shape>>;
  readonly errors: Readonly<Record<string, { code: string; status: number; sender: boolean }>>;
}

/** A value in the JSON shape of an operation's input or output. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };
export type JsonObject = { [k: string]: JsonValue };

/** A query parameter whose value does not fit its shape (a number that is not one...). */
export class QueryValueError extends Error {
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(message);
    this.name = 'QueryValueError';
  }
}

/** The index of a form request: parameter names, and which prefixes have children. */
class FormIndex {
  private readonly prefixes = new Set<string>();
  constructor(readonly params: ReadonlyMap<string, string>) {
    for (const k of params.keys()) {
      let i = k.indexOf('.');
      while (i >= 0) {
        this.prefixes.add(k.slice(0, i));
        i = k.indexOf('.', i + 1);
      }
    }
  }
  has(prefix: string): boolean {
    return this.params.has(prefix) || this.prefixes.has(prefix);
  }
}

const MAX_LIST = 10_000;

/** Decodes a query request's parameters into the operation's input shape (botocore QuerySerializer, reversed). */
export function decodeQuery(model: ServiceModel, shapeName: string, params: ReadonlyMap<string, string>): JsonObject {
  const form = new FormIndex(params);
  const out = decodeShape(model, shapeName, '', form);
  return out !== undefined && typeof out === 'object' && !Array.isArray(out) && out !== null ? out : {};
}

function join(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

function decodeShape(model: ServiceModel, shapeName: string, prefix: string, form: FormIndex): JsonValue | undefined {
  const shape = model.shapes[shapeName];
  if (!shape) return undefined;
  switch (shape.type) {
    case 'structure': {
      const o: JsonObject = {};
      for (const [name, ref] of Object.entries(shape.members ?? {})) {
        const v = decodeShape(model, ref.shape, join(prefix, ref.locationName ?? name), form);
        if (v !== undefined) o[name] = v;
      }
      return prefix === '' || Object.keys(o).length > 0 ? o : undefined;
    }
    case 'list': {
      if (form.params.get(prefix) === '') return [];
      const member = shape.member as MemberRef;
      let listPrefix: string;
      if (shape.flattened) {
        listPrefix = member.locationName ? [...prefix.split('.').slice(0, -1), member.locationName].join('.') : prefix;
      } else listPrefix = `${prefix}.${member.locationName ?? 'member'}`;
      if (!form.has(listPrefix)) return undefined;
      return decodeIndexed(listPrefix, form, (p) => decodeShape(model, member.shape, p, form) ?? null);
    }
    case 'map': {
      const full = shape.flattened ? prefix : `${prefix}.entry`;
      if (!form.has(full)) return undefined;
      const keyName = shape.key?.locationName ?? 'key';
      const valueName = shape.value?.locationName ?? 'value';
      const o: JsonObject = {};
      const pairs = decodeIndexed(full, form, (p) => {
        const k = form.params.get(`${p}.${keyName}`);
        if (k === undefined) throw new QueryValueError(`${p}.${keyName}`, `${p}.${keyName} is missing`);
        return [k, decodeShape(model, (shape.value as MemberRef).shape, `${p}.${valueName}`, form) ?? null];
      });
      for (const pair of pairs as Array<[string, JsonValue]>) o[pair[0]] = pair[1];
      return o;
    }
    default:
      return decodeScalar(shape.type, prefix, form.params.get(prefix));
  }
}

/** Entries `<prefix>.1`, `<prefix>.2`... up to the first missing index. */
function decodeIndexed(prefix: string, form: FormIndex, one: (p: string) => JsonValue): JsonValue[] {
  const out: JsonValue[] = [];
  for (let i = 1; i <= MAX_LIST && form.has(`${prefix}.${i}`); i++) out.push(one(`${prefix}.${i}`));
  return out;
}

function decodeScalar(type: string, name: string, raw: string | undefined): JsonValue | undefined {
  if (raw === undefined) return undefined;
  switch (type) {
    case 'integer':
    case 'long': {
      if (!/^[-+]?\d+$/.test(raw.trim()))
        throw new QueryValueError(name, `Value ${raw} for parameter ${name} is invalid. Reason: must be an integer.`);
      return Number(raw);
    }
    case 'float':
    case 'double': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n))
        throw new QueryValueError(name, `Value ${raw} for parameter ${name} is invalid. Reason: must be a number.`);
      return n;
    }
    case 'boolean': {
      const v = raw.toLowerCase();
      if (v !== 'true' && v !== 'false')
        throw new QueryValueError(name, `Value ${raw} for parameter ${name} is invalid. Reason: must be true or false.`);
      return v === 'true';
    }
    default:
      return raw;
  }
}

// ---- responses ----------------------------------------------------------------------------

export function xmlEscape(s: string): string {
  // Control characters XML 1.0 allows only as character references.
  // eslint-disable-next-line no-control-regex
  return s.replace(/[<>&"'\r\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) => {
    switch (c) {
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '&':
        return '&amp;';
      case '"':
        return '&quot;';
      case "'":
        return '&apos;';
      default:
        return `&#${c.charCodeAt(0)};`;
    }
  });
}

/** The query protocol's response document for `operation` (botocore QueryParser, reversed). */
export function encodeQueryResponse(model: ServiceModel, operation: string, output: JsonObject | undefined, requestId: string): string {
  const op = model.operations[operation];
  const parts: string[] = [`<?xml version="1.0"?><${operation}Response xmlns="${model.xmlNamespace}">`];
  if (op?.output !== undefined && op.resultWrapper !== undefined) {
    parts.push(`<${op.resultWrapper}>`);
    encodeMembers(model, op.output, output ?? {}, parts);
    parts.push(`</${op.resultWrapper}>`);
  }
  parts.push(`<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`);
  return parts.join('');
}

function encodeMembers(model: ServiceModel, shapeName: string, value: JsonObject, parts: string[]): void {
  const shape = model.shapes[shapeName];
  for (const [name, ref] of Object.entries(shape?.members ?? {})) {
    const v = value[name];
    if (v === undefined || v === null) continue;
    encodeValue(model, ref, ref.locationName ?? name, v, parts);
  }
}

function encodeValue(model: ServiceModel, ref: MemberRef, tag: string, v: JsonValue, parts: string[]): void {
  const shape = model.shapes[ref.shape];
  if (!shape) return;
  if (shape.type === 'structure') {
    parts.push(`<${tag}>`);
    encodeMembers(model, ref.shape, v as JsonObject, parts);
    parts.push(`</${tag}>`);
  } else if (shape.type === 'list') {
    const member = shape.member as MemberRef;
    const items = v as JsonValue[];
    if (shape.flattened) {
      for (const item of items) encodeValue(model, member, member.locationName ?? tag, item, parts);
    } else {
      parts.push(`<${tag}>`);
      for (const item of items) encodeValue(model, member, member.locationName ?? 'member', item, parts);
      parts.push(`</${tag}>`);
    }
  } else if (shape.type === 'map') {
    const keyTag = shape.key?.locationName ?? 'key';
    const valueTag = shape.value?.locationName ?? 'value';
    const entries = Object.entries(v as JsonObject);
    if (!shape.flattened) parts.push(`<${tag}>`);
    for (const [k, item] of entries) {
      parts.push(shape.flattened ? `<${tag}>` : '<entry>', `<${keyTag}>${xmlEscape(k)}</${keyTag}>`);
      if (item !== null) encodeValue(model, shape.value as MemberRef, valueTag, item, parts);
      parts.push(shape.flattened ? `</${tag}>` : '</entry>');
    }
    if (!shape.flattened) parts.push(`</${tag}>`);
  } else {
    parts.push(`<${tag}>${xmlEscape(String(v))}</${tag}>`);
  }
}
