// The admin HTTP port (8161): `/health` (what a load balancer probes: 200 when active, 503 on a
// standby or while stopping), `/metrics` (Prometheus), the admin API under `/api` with its OpenAPI
// document, and the web console under `/console`. Health and metrics are open unless configured
// otherwise; the API and the console's data need an admin (auth.ts), and a state-changing request
// must come from the port's own origin, or from loopback on a broker with no users (request-origin.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Broker } from '../core/broker.ts';
import { apiRoutes, registerApi } from './api.ts';
import { AdminAuth, type Authenticator } from './auth.ts';
import { serveConsole } from './console.ts';
import { History } from './history.ts';
import { BrokerMetrics } from './metrics.ts';
import { openApiDocument } from './openapi.ts';
import { refusedChange } from './request-origin.ts';
import { securityRoutes, type SecurityAdminSource } from './security-api.ts';
import { deliveryStreamRoutes } from './firehose-api.ts';
import { streamRoutes } from './streams-api.ts';
import type { Streams } from '../streams/streams.ts';
import type { DeliveryStreams } from '../firehose/delivery-streams.ts';

export interface AdminSource {
  health(): { status: 'ok' | 'unavailable'; role: string; epoch: number };
  activeBroker(): Broker | undefined;
  activeDeliveryStreams(): DeliveryStreams | undefined;
  activeStreams(): Streams | undefined;
  brokerInfo(): Promise<Record<string, unknown>>;
}

export interface AdminSettings {
  host: string;
  port: number;
  groups: readonly string[];
  open: readonly ('health' | 'metrics')[];
  metricsDestinations: number;
  /** The broker's users authenticate here; `required` when it has users. */
  security: Authenticator & { required(): boolean };
  /** Users and authorization changed at run time (/api/users, /api/permissions). */
  users?: SecurityAdminSource;
  log: Logger;
}

const VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }).version;

export async function startAdminServer(s: AdminSettings, source: AdminSource): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  const auth = new AdminAuth(s.security, s.groups, s.security.required);
  const metrics = new BrokerMetrics(source, s.metricsDestinations);
  const history = new History(() => source.activeBroker());
  const routes = [
    ...apiRoutes(source, history),
    ...deliveryStreamRoutes(source),
    ...streamRoutes(source),
    ...(s.users ? securityRoutes(s.users, () => auth.forget()) : []),
  ];
  const guard = async (open: boolean, req: Parameters<AdminAuth['check']>[0], reply: Parameters<AdminAuth['check']>[1]) =>
    open || (await auth.check(req, reply)) !== undefined;

  // Before any route: a state-changing request from another site, or from afar on a broker without users, goes no further.
  app.addHook('onRequest', async (req, reply) => {
    const refused = refusedChange({ method: req.method, remoteAddress: req.socket.remoteAddress ?? '', headers: req.headers }, auth.open);
    if (refused === undefined) return;
    s.log.warn({ method: req.method, url: req.url, remote: req.socket.remoteAddress, reason: refused }, 'admin request refused');
    return reply.code(403).send({ error: 'forbidden', message: refused });
  });
  app.get('/health', async (req, reply) => {
    if (!(await guard(s.open.includes('health'), req, reply))) return reply;
    const h = source.health();
    return reply.code(h.status === 'ok' ? 200 : 503).send(h);
  });
  app.get('/metrics', async (req, reply) => {
    if (!(await guard(s.open.includes('metrics'), req, reply))) return reply;
    return reply.type(metrics.registry.contentType).send(await metrics.text());
  });
  app.get('/api/openapi.json', async () => openApiDocument(routes, VERSION));
  registerApi(app, routes, source, auth, s.log);
  serveConsole(app);
  app.addHook('onClose', async () => {
    metrics.stop();
    history.stop();
  });
  metrics.start();
  history.start();
  if (auth.open) {
    s.log.warn(
      'admin API without credentials: the broker has no users, so it accepts changes only from loopback (configure security.users and admin.groups)',
    );
  }
  await app.listen({ host: s.host, port: s.port });
  return app;
}

export function boundPort(app: FastifyInstance): number {
  const a = app.server.address();
  return typeof a === 'object' && a ? a.port : 0;
}

export { VERSION };
