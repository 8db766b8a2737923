// The composition root: from a validated configuration it builds the store, the security
// service, the broker core, the protocol adapters and their listeners, and stops them in order.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { boundPort, startAdminServer } from './admin/admin-server.ts';
import type { AdapterFactory } from '../adapters/adapter.ts';
import { ADAPTERS } from '../adapters/index.ts';
import type { JunctionConfig } from './config/schema.ts';
import { Broker } from './core/broker.ts';
import { MemoryGuard, parseWatermark } from './core/memory-guard.ts';
import { PolicyResolver, DEFAULT_POLICY, type PolicySettings } from './core/policy.ts';
import { FencedError } from './shared/errors.ts';
import type { ProtocolHandler } from './net/connection.ts';
import { Listeners } from './net/listeners.ts';
import { SecurityService } from './security/security-service.ts';
import { openConfiguredStore, type ConfiguredStore } from './store/configured-store.ts';
import type { Store } from './store/store.ts';

export interface ServerOptions {
  log: Logger;
  /** Defaults to the built-in adapters. */
  adapters?: readonly AdapterFactory[];
  /** Defaults to the store the configuration names. */
  store?: Store;
}

export type Role = 'active' | 'standby';
/** Why a server stopped: asked to, or it lost its store lock to another broker. */
export type StopReason = 'requested' | 'fenced';

export class JunctionServer {
  role: Role = 'active';
  admin: FastifyInstance | undefined;
  /** Resolves once the server has stopped, with the reason. */
  readonly done: Promise<StopReason>;
  private resolveDone!: (r: StopReason) => void;
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly config: JunctionConfig,
    readonly broker: Broker,
    readonly security: SecurityService,
    readonly listeners: Listeners,
    private readonly log: Logger,
    private readonly storeHolder: ConfiguredStore,
    private readonly handlers: readonly ProtocolHandler[],
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  static async start(config: JunctionConfig, opts: ServerOptions): Promise<JunctionServer> {
    const log = opts.log;
    const held: ConfiguredStore = opts.store
      ? { store: opts.store, description: opts.store.kind, release: async () => {} }
      : await openConfiguredStore(config.store, config.cluster, log);
    const store = held.store;
    const security = new SecurityService({
      ...config.security,
      allowAnonymous: config.security.allowAnonymous ?? config.security.users.length === 0,
    });
    const d = config.destinations;
    // The store-error hook is built before the server it stops; it finds the server here.
    const self: { server?: JunctionServer } = {};
    const broker = new Broker({
      store,
      log,
      authorizer: security,
      policies: new PolicyResolver({ ...DEFAULT_POLICY, ...(d.defaults as Partial<PolicySettings>) }, d.policies),
      autoCreate: d.autoCreate,
      queues: d.queues,
      virtualTopics: d.virtualTopics,
      expirySweepMs: d.expirySweepMs,
      dedupMaxEntries: d.dedupMaxEntries,
      memory: new MemoryGuard(parseWatermark(config.limits.memoryHighWatermark), log),
      onStoreError: (err) => {
        const server = self.server;
        if (err instanceof FencedError && server) {
          log.fatal({ err }, 'this broker lost its store lock: closing every listener and connection');
          // One turn later, so the refusals of the failed batch reach their clients first.
          setImmediate(() => void server.stop('fenced'));
        }
      },
    });
    try {
      await broker.start();
    } catch (err) {
      await broker.close().catch(() => {});
      await held.release();
      throw err;
    }
    const handlers = (opts.adapters ?? ADAPTERS).map((f) => f({ broker, security, config, log }));
    let listeners: Listeners;
    try {
      for (const h of handlers) await h.start?.();
      listeners = await Listeners.open(config, handlers, log);
    } catch (err) {
      await closeHandlers(handlers, log);
      await broker.close();
      await held.release();
      throw err;
    }
    const server = new JunctionServer(config, broker, security, listeners, log, held, handlers);
    self.server = server;
    if (config.admin.enabled) {
      try {
        server.admin = await startAdminServer(config.admin.host, config.admin.port, server);
      } catch (err) {
        await server.stop();
        throw err;
      }
    }
    log.info(
      {
        role: server.role,
        cluster: config.cluster,
        store: held.description,
        anonymous: security.allowAnonymous,
        listeners: listeners.addresses.map((a) => `${a.protocol}/${a.transport} ${a.host}:${a.port}`),
        admin: server.admin ? `http ${config.admin.host}:${boundPort(server.admin)}` : 'off',
        adapters: handlers.map((h) => h.protocol),
        memoryHighWatermark: broker.memory?.watermark,
      },
      handlers.length === 0 ? 'broker running with no protocol adapters installed' : 'broker running',
    );
    return server;
  }

  /**
   * What `/health` reports. The memory alarm does not make the broker unhealthy (it is flow
   * control, and a standby would fare no better), but it is shown.
   */
  health(): {
    status: 'ok' | 'unavailable';
    role: string;
    stopping: boolean;
    store: 'available' | 'unavailable';
    memory: 'ok' | 'alarm';
  } {
    const store = this.broker.storeAvailable;
    const ok = this.role === 'active' && !this.stopping && this.broker.running && store;
    return {
      status: ok ? 'ok' : 'unavailable',
      role: this.role,
      stopping: this.stopping !== undefined,
      store: store ? 'available' : 'unavailable',
      memory: this.broker.memory?.alarm ? 'alarm' : 'ok',
    };
  }

  /** Stops accepting, drops connections, finishes pending store writes, closes the store. */
  stop(reason: StopReason = 'requested'): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info({ reason }, 'broker stopping: no longer accepting connections');
      if (reason === 'fenced') this.role = 'standby';
      // Publishes held by the memory alarm (an MQTT will at a disconnect, say) must not hold up the stop.
      this.broker.memory?.stop();
      await this.listeners.close();
      await closeHandlers(this.handlers, this.log);
      await this.broker.close();
      await this.storeHolder.release();
      await this.admin?.close();
      this.log.info({ reason }, 'broker stopped');
      this.resolveDone(reason);
    })();
    return this.stopping;
  }
}

async function closeHandlers(handlers: readonly ProtocolHandler[], log: Logger): Promise<void> {
  for (const h of handlers) {
    try {
      await h.close?.();
    } catch (err) {
      log.warn({ err, protocol: h.protocol }, 'protocol adapter did not close cleanly');
    }
  }
}
