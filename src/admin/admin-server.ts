// The admin HTTP port (8161). For now it serves `/health`, which a load balancer probes to find
// the active broker: 200 with role "active", 503 otherwise (standby, stopping). It is open on a
// standby too, which is how `junction status` learns who holds the lease.
import Fastify, { type FastifyInstance } from 'fastify';

export interface HealthSource {
  health(): { status: 'ok' | 'unavailable'; role: string };
}

export async function startAdminServer(host: string, port: number, source: HealthSource): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  app.get('/health', async (_req, reply) => {
    const h = source.health();
    return reply.code(h.status === 'ok' ? 200 : 503).send(h);
  });
  await app.listen({ host, port });
  return app;
}

export function boundPort(app: FastifyInstance): number {
  const a = app.server.address();
  return typeof a === 'object' && a ? a.port : 0;
}
