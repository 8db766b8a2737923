// The admin HTTP API (/api/...): destinations, subscriptions, connections and the broker, as one
// table of routes. The table registers them with fastify (JSON schemas validate input) and is the
// source of the OpenAPI document at /api/openapi.json, so the two cannot drift apart. On a standby
// every route but /api/broker answers 503: the working state lives with the active broker.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Broker, QueueInfo } from '../core/broker.ts';
import type { Principal } from '../core/principal.ts';
import type { BrowsedMessage } from '../core/queue-browser.ts';
import type { PropertyValue } from '../core/message.ts';
import { JunctionError } from '../shared/errors.ts';
import type { AdminAuth } from './auth.ts';
import type { History } from './history.ts';

export interface ApiSource {
  activeBroker(): Broker | undefined;
  /** Version, role, epoch, uptime, store, memory, listeners. */
  brokerInfo(): Promise<Record<string, unknown>>;
  /** Where every admin change is logged and counted (the security audit). */
  readonly security?: {
    readonly audit: { adminChange(admin: string, action: string, target: string | undefined, from: string, request?: unknown): void };
  };
}

type Schema = Record<string, unknown>;

interface Call {
  broker: Broker;
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  body: Record<string, unknown>;
  user: Principal;
}

export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  summary: string;
  tag: 'broker' | 'destinations' | 'subscriptions' | 'connections' | 'security' | 'delivery-streams' | 'streams';
  query?: Schema;
  body?: Schema;
  /** An operator's change: logged once with who, what and which destination. */
  change?: string;
  /** Runs on a standby too (no broker then). */
  standby?: boolean;
  run(c: Call): unknown;
}

const NAME = { type: 'string', minLength: 1 };

export function messageView(v: BrowsedMessage, maxBody = 64 * 1024): Record<string, unknown> {
  const m = v.message;
  const body = Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength);
  const shown = body.subarray(0, maxBody);
  let text: string | undefined;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(shown);
  } catch {
    text = undefined;
  }
  return {
    id: m.id,
    destination: `${m.destination.kind}://${m.destination.name}`,
    timestamp: m.timestamp,
    priority: m.priority,
    persistent: m.persistent,
    expiresAt: m.expiresAt,
    deliverAt: m.deliverAt,
    deliveryCount: v.deliveryCount,
    redelivered: v.redelivered,
    contentType: m.contentType,
    correlationId: m.correlationId,
    replyTo: m.replyTo,
    type: m.type,
    groupId: m.groupId,
    userId: m.userId,
    properties: m.properties,
    annotations: v.annotations ?? {},
    size: body.length,
    bodyEncoding: text === undefined ? 'base64' : 'text',
    body: text ?? shown.toString('base64'),
    truncated: body.length > maxBody,
  };
}

function queueView(q: QueueInfo, broker: Broker, history: History): Record<string, unknown> {
  return {
    ...history.ratesOf(q.name),
    name: q.name,
    destination: q.label,
    durable: q.durable,
    deadLetter: /^(DLQ\.|ActiveMQ\.DLQ$)|\.DLQ$/.test(q.name),
    subscription: q.name.startsWith('sub:'),
    depth: q.messages,
    ready: q.ready,
    inflight: q.inflight,
    pagedOut: q.paged,
    consumers: q.consumers,
    producers: broker.connections.producerCount(q.label),
    bytes: q.bytes,
    enqueued: q.stats.enqueued,
    dequeued: q.stats.acked,
    dispatched: q.stats.dispatched,
    expired: q.stats.expired,
    deadLettered: q.stats.deadLettered,
    dropped: q.stats.dropped,
  };
}

async function browsePage(broker: Broker, name: string, offset: number, limit: number, selector?: string): Promise<unknown[]> {
  const browser = broker.browse({ destination: { kind: 'queue', name }, selector }, { connectionId: 'admin' });
  const out: unknown[] = [];
  let skipped = 0;
  while (out.length < limit) {
    const page = await browser.next(Math.min(500, offset - skipped + limit - out.length));
    if (page.length === 0) break;
    for (const v of page) {
      if (skipped < offset) skipped++;
      else if (out.length < limit) out.push(messageView(v));
    }
  }
  return out;
}

function sendInput(body: Record<string, unknown>): {
  body: Uint8Array;
  persistent: boolean;
  priority?: number;
  contentType?: string;
  correlationId?: string;
  properties?: Record<string, PropertyValue>;
  expiresAt?: number;
} {
  const raw = String(body.body ?? '');
  const out: ReturnType<typeof sendInput> = {
    body: body.bodyEncoding === 'base64' ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8'),
    persistent: body.persistent !== false,
  };
  if (typeof body.priority === 'number') out.priority = body.priority;
  if (typeof body.contentType === 'string') out.contentType = body.contentType;
  if (typeof body.correlationId === 'string') out.correlationId = body.correlationId;
  if (body.properties && typeof body.properties === 'object') out.properties = body.properties as Record<string, PropertyValue>;
  if (typeof body.ttlMs === 'number' && body.ttlMs > 0) out.expiresAt = Date.now() + body.ttlMs;
  return out;
}

const SEND_BODY: Schema = {
  type: 'object',
  required: ['body'],
  properties: {
    body: { type: 'string' },
    bodyEncoding: { enum: ['text', 'base64'] },
    persistent: { type: 'boolean' },
    priority: { type: 'integer', minimum: 0, maximum: 9 },
    contentType: { type: 'string' },
    correlationId: { type: 'string' },
    ttlMs: { type: 'integer', minimum: 0 },
    properties: { type: 'object', additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] } },
  },
};

export function apiRoutes(source: ApiSource, history: History): ApiRoute[] {
  return [
    {
      method: 'GET',
      url: '/api/broker',
      tag: 'broker',
      standby: true,
      summary: 'Version, role and epoch, uptime, store, memory, listeners',
      run: () => source.brokerInfo(),
    },
    {
      method: 'GET',
      url: '/api/broker/rates',
      tag: 'broker',
      summary: 'Messages in and out per second over the last 30 minutes (5 s samples)',
      run: () => history.rates,
    },
    {
      method: 'GET',
      url: '/api/queues',
      tag: 'destinations',
      summary: 'Queues (subscription queues with ?subscriptions=true) with depth, in flight, consumers, producers and totals',
      query: { type: 'object', properties: { filter: { type: 'string' }, subscriptions: { enum: ['true', 'false'] } } },
      run: ({ broker, query }) =>
        broker
          .listQueues()
          .filter((q) => (query.subscriptions === 'true' || !q.name.startsWith('sub:')) && (!query.filter || q.name.includes(query.filter)))
          .map((q) => queueView(q, broker, history)),
    },
    {
      method: 'POST',
      url: '/api/queues',
      tag: 'destinations',
      summary: 'Create a queue',
      body: { type: 'object', required: ['name'], properties: { name: NAME } },
      change: 'create queue',
      run: ({ broker, body }) => ({ created: broker.operations.createQueue(String(body.name)) }),
    },
    {
      method: 'GET',
      url: '/api/queues/:name',
      tag: 'destinations',
      summary: "One queue's figures and its depth over the last minutes",
      run: ({ broker, params }) => {
        const q = broker.getQueue(params.name as string);
        if (!q) throw notFound(`Queue ${params.name} does not exist`);
        return { ...queueView(q, broker, history), history: history.depth(q.name) };
      },
    },
    {
      method: 'DELETE',
      url: '/api/queues/:name',
      tag: 'destinations',
      summary: 'Delete a queue and its messages',
      change: 'delete queue',
      run: ({ broker, params }) => {
        broker.deleteQueue(params.name as string);
        return { deleted: true };
      },
    },
    {
      method: 'POST',
      url: '/api/queues/:name/purge',
      tag: 'destinations',
      summary: 'Remove every ready message (in flight and scheduled ones stay)',
      change: 'purge queue',
      run: async ({ broker, params }) => ({ purged: await broker.operations.purgeQueue(params.name as string) }),
    },
    {
      method: 'GET',
      url: '/api/queues/:name/messages',
      tag: 'destinations',
      summary: 'Browse messages without removing them (in flight first, then in delivery order)',
      query: {
        type: 'object',
        properties: {
          offset: { type: 'integer', minimum: 0 },
          limit: { type: 'integer', minimum: 1, maximum: 1000 },
          selector: { type: 'string' },
        },
      },
      run: ({ broker, params, query }) => {
        if (!broker.getQueue(params.name as string)) throw notFound(`Queue ${params.name} does not exist`);
        return browsePage(broker, params.name as string, Number(query.offset ?? 0), Number(query.limit ?? 50), query.selector);
      },
    },
    {
      method: 'POST',
      url: '/api/queues/:name/messages',
      tag: 'destinations',
      summary: 'Send a message to a queue',
      body: SEND_BODY,
      change: 'send to queue',
      run: async ({ broker, params, body }) =>
        broker.publish({ destination: { kind: 'queue', name: params.name as string }, ...sendInput(body) }, { connectionId: 'admin' }),
    },
    {
      method: 'POST',
      url: '/api/queues/:name/move',
      tag: 'destinations',
      summary: 'Move (or copy) messages, by id or selector (all when neither), to another queue',
      body: {
        type: 'object',
        required: ['to'],
        properties: {
          to: NAME,
          ids: { type: 'array', items: { type: 'string' } },
          selector: { type: 'string' },
          copy: { type: 'boolean' },
        },
      },
      change: 'move messages',
      run: async ({ broker, params, body }) => {
        const pick: { ids?: string[]; selector?: string; copy?: boolean } = { copy: body.copy === true };
        if (Array.isArray(body.ids)) pick.ids = body.ids as string[];
        if (typeof body.selector === 'string' && body.selector.trim() !== '') pick.selector = body.selector;
        const n = await broker.operations.moveMessages(params.name as string, String(body.to), pick);
        return pick.copy ? { copied: n } : { moved: n };
      },
    },
    {
      method: 'POST',
      url: '/api/queues/:name/redrive',
      tag: 'destinations',
      summary: "Send a dead-letter queue's messages back to the queues they came from",
      change: 'redrive dead-letter queue',
      run: ({ broker, params }) => broker.operations.redrive(params.name as string),
    },
    {
      method: 'GET',
      url: '/api/topics',
      tag: 'destinations',
      summary: 'Topics with subscriptions: subscriptions, consumers and backlog per topic pattern',
      run: ({ broker }) => {
        const topics = new Map<string, { topic: string; subscriptions: number; consumers: number; backlog: number }>();
        for (const s of broker.listSubscriptions()) {
          const t = topics.get(s.pattern) ?? { topic: s.pattern, subscriptions: 0, consumers: 0, backlog: 0 };
          const q = broker.getQueue(s.name);
          t.subscriptions++;
          t.consumers += q?.consumers ?? 0;
          t.backlog += q?.messages ?? 0;
          topics.set(s.pattern, t);
        }
        return [...topics.values()];
      },
    },
    {
      method: 'POST',
      url: '/api/topics/:name/messages',
      tag: 'destinations',
      summary: 'Publish a message to a topic',
      body: SEND_BODY,
      change: 'publish to topic',
      run: ({ broker, params, body }) =>
        broker.publish({ destination: { kind: 'topic', name: params.name as string }, ...sendInput(body) }, { connectionId: 'admin' }),
    },
    {
      method: 'GET',
      url: '/api/subscriptions',
      tag: 'subscriptions',
      summary: 'Durable and shared subscriptions with their backlog',
      run: ({ broker }) =>
        broker
          .listSubscriptions()
          .filter((s) => s.shared || s.clientId !== undefined)
          .map((s) => {
            const q = broker.getQueue(s.name);
            return {
              name: s.name,
              topic: s.pattern,
              clientId: s.clientId,
              subscriptionName: s.subscriptionName,
              shared: s.shared,
              selector: s.selector,
              backlog: q?.messages ?? 0,
              consumers: q?.consumers ?? 0,
            };
          }),
    },
    {
      method: 'DELETE',
      url: '/api/subscriptions/:name',
      tag: 'subscriptions',
      summary: 'Delete a durable or shared subscription and its backlog (refused while consumers are attached)',
      change: 'delete subscription',
      run: ({ broker, params }) => {
        broker.operations.deleteSubscription(params.name as string);
        return { deleted: true };
      },
    },
    {
      method: 'GET',
      url: '/api/requests',
      tag: 'connections',
      summary:
        'Requests of the request/response APIs (SQS, SNS) by service and operation with their errors by code, requests waiting (long polls), and delivery events',
      run: ({ broker }) => {
        const c = broker.connections;
        const rows = new Map<
          string,
          { service: string; operation: string; requests: number; errors: number; errorCodes: Record<string, number> }
        >();
        for (const [key, n] of c.requests) {
          const [service = '', operation = ''] = key.split(' ');
          rows.set(key, { service, operation, requests: n, errors: 0, errorCodes: {} });
        }
        for (const [key, n] of c.requestErrors) {
          const [service = '', operation = '', code = ''] = key.split(' ');
          const row = rows.get(`${service} ${operation}`);
          if (!row) continue;
          row.errors += n;
          row.errorCodes[code] = n;
        }
        return {
          requests: [...rows.values()],
          waiting: [...c.waiting].map(([service, n]) => ({ service, waiting: n })),
          events: [...c.events].map(([key, n]) => {
            const [service = '', event = ''] = key.split(' ');
            return { service, event, count: n };
          }),
        };
      },
    },
    {
      method: 'GET',
      url: '/api/connections',
      tag: 'connections',
      summary: 'Client connections: protocol and its version, client id, user, address, transport, sessions, subscriptions, message counts',
      run: ({ broker }) =>
        broker.connections.list().map((c) => ({
          id: c.id,
          protocol: c.protocol,
          protocolVersion: c.protocolVersion,
          transport: c.transport,
          remoteAddress: c.remoteAddress,
          clientId: c.clientId,
          user: c.user,
          connectedAt: c.connectedAt,
          sessions: c.sessions?.(),
          subscriptions: broker.connections.subscriptions(c.id),
          messagesIn: c.messagesIn,
          messagesOut: c.messagesOut,
        })),
    },
    {
      method: 'DELETE',
      url: '/api/connections/:id',
      tag: 'connections',
      summary: 'Close a client connection',
      change: 'close connection',
      run: ({ broker, params, user }) => {
        if (!broker.connections.close(params.id as string, `Closed by an administrator (${user.username})`)) {
          throw notFound(`Connection ${params.id} does not exist`);
        }
        return { closed: true };
      },
    },
    {
      method: 'GET',
      url: '/api/keys/rotation',
      tag: 'security',
      summary: 'Where the key rotation stands (security.encryption): values scanned and sealed anew, keys retired',
      run: ({ broker }) => broker.keyRotation.current,
    },
    {
      method: 'POST',
      url: '/api/keys/rotation',
      tag: 'security',
      summary: 'Seal every stored value anew with the first key of security.encryption.keys, in the background',
      change: 'rotate keys',
      run: ({ broker }) => broker.keyRotation.start(),
    },
  ];
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function notFound(message: string): HttpError {
  return new HttpError(404, message);
}

function statusOf(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  if (err instanceof JunctionError) {
    switch (err.code) {
      case 'not-found':
        return 404;
      case 'invalid-destination':
      case 'invalid-selector':
      case 'invalid-message':
      case 'subscription-conflict':
      case 'config':
      case 'invalid-argument':
        return 400;
      case 'in-use':
      case 'version-mismatch':
        return 409;
      case 'queue-full':
      case 'store-unavailable':
      case 'closed':
      case 'fenced':
        return 503;
      default:
        return 500;
    }
  }
  return 500;
}

/** Registers the routes; every one needs an admin (AdminAuth). */
export function registerApi(app: FastifyInstance, routes: readonly ApiRoute[], source: ApiSource, auth: AdminAuth, log: Logger): void {
  for (const r of routes) {
    const schema: Schema = {};
    if (r.query) schema.querystring = r.query;
    if (r.body) schema.body = r.body;
    app.route({
      method: r.method,
      url: r.url,
      schema,
      handler: async (req: FastifyRequest, reply: FastifyReply) => {
        const user = await auth.check(req, reply);
        if (!user) return reply;
        const broker = source.activeBroker();
        if (!broker && !r.standby) {
          return reply
            .code(503)
            .send({ error: 'standby', message: 'This broker is a standby: ask the active broker (see /health for the lease holder)' });
        }
        const params = req.params as Record<string, string>;
        try {
          const result = await r.run({
            broker: broker as Broker,
            params,
            query: (req.query ?? {}) as Record<string, string | undefined>,
            body: (req.body ?? {}) as Record<string, unknown>,
            user,
          });
          if (r.change) {
            const target = params.name ?? params.id;
            const request = r.body ? summarize(req.body) : undefined;
            if (source.security) source.security.audit.adminChange(user.username, r.change, target, req.ip, request);
            else
              log.info(
                { admin: user.username, action: r.change, target, from: req.ip, ...(request !== undefined ? { request } : {}) },
                'admin change',
              );
          }
          return reply.send(result);
        } catch (err) {
          const status = statusOf(err);
          if (status === 500) log.error({ err, route: r.url }, 'admin request failed');
          return reply.code(status).send({
            error: status === 404 ? 'not-found' : status === 400 ? 'bad-request' : status === 409 ? 'conflict' : 'error',
            message: (err as Error).message,
          });
        }
      },
    });
  }
}

/** A request body for the change log: no message bodies. */
/** A request as the audit logs it: no message body, and no password, hash or secret. */
function summarize(body: unknown): unknown {
  if (!body || typeof body !== 'object') return body;
  const { body: _b, ...rest } = body as Record<string, unknown>;
  for (const k of Object.keys(rest)) if (/pass|secret|hash/i.test(k)) rest[k] = '***';
  return rest;
}
