// The composition root: from a validated configuration it builds the security service, the admin
// port, the store and its lease lock, and the role keeper that makes this process active (the core,
// the protocol adapters and their listeners, built afresh for each epoch) or a standby.
import { hostname } from 'node:os';
import { EventLoopGuard } from './shared/event-loop-guard.ts';
import { DataLossLedger } from './data-loss.ts';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ActiveBroker } from './active-broker.ts';
import { boundPort, startAdminServer, VERSION } from './admin/admin-server.ts';
import { ADAPTERS, bindAdapter, mqttFilterToPattern, serves, type AdapterDescriptor, type JunctionConfig } from './protocols.ts';
import type { Broker } from './core/broker.ts';
import type { DeliveryStreams } from './firehose/delivery-streams.ts';
import type { Streams } from './streams/streams.ts';
import { RoleKeeper, type Deactivation, type Role } from './ha/role-keeper.ts';
import { FencedError } from './shared/errors.ts';
import type { Listeners } from './net/listeners.ts';
import { loadSealer } from './security/keyring.ts';
import { loadAccessKeys } from './security/access-keys.ts';
import { s3Credentials } from './firehose/config.ts';
import { SecurityService } from './security/security-service.ts';
import { fixedStore, openConfiguredStore, type ConfiguredStore } from './store/configured-store.ts';
import type { LeaseHolder } from './store/lease.ts';
import type { Store } from './store/store.ts';

export interface ServerOptions {
  log: Logger;
  /** Defaults to the built-in adapters. */
  adapters?: readonly AdapterDescriptor[];
  /** Defaults to the store the configuration names (a store given here is used for one epoch only). */
  store?: Store;
}

export type { Role };

/** An event-loop stall at least this long is logged and counted. */
const STALL_LOG_MS = 250;

export interface Health {
  status: 'ok' | 'unavailable';
  role: Role;
  /** The epoch this broker serves under (its last one, as a standby). */
  epoch: number;
  /** ISO time the role began. */
  since: string;
  node: string;
  stopping: boolean;
  /** Active: whether the store answers. Standby: whether the lease lock does. */
  store: 'available' | 'unavailable';
  memory: 'ok' | 'alarm';
  /** Who holds the lease, as a standby last saw it. */
  holder?: LeaseHolder;
}

export class JunctionServer {
  admin: FastifyInstance | undefined;
  /** Resolves once the server has stopped. */
  readonly done: Promise<void>;
  readonly node: string;
  /** host:port of the admin port ('' when off). */
  adminAddress = '';
  private resolveDone!: () => void;
  private stopping: Promise<void> | undefined;
  private active: ActiveBroker | undefined;
  private keeper!: RoleKeeper;
  private held!: ConfiguredStore;
  /** Stalls of the event loop, logged and counted (junction_event_loop_stalls_total). */
  readonly eventLoop: EventLoopGuard;
  /** What the store lost, when it loses the cluster's data (junction_store_data_lost_total). */
  readonly dataLoss: DataLossLedger;

  private constructor(
    readonly config: JunctionConfig,
    readonly security: SecurityService,
    private readonly log: Logger,
    private readonly adapters: readonly AdapterDescriptor[],
  ) {
    this.node = config.ha.node ?? `${hostname()}:${process.pid}`;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.eventLoop = new EventLoopGuard(log, STALL_LOG_MS, config.ha.leaseMs);
    this.dataLoss = new DataLossLedger(log);
  }

  /** Times the store lost the data, and the stored messages that went with it (the metrics' source). */
  dataLost(): { events: number; messages: number } {
    return { events: this.dataLoss.events, messages: this.dataLoss.lostMessages };
  }

  /** The protocols the broker serves under its configuration (the metrics' source). */
  protocols(): readonly string[] {
    return this.adapters.filter((d) => serves(d, this.config)).map((d) => d.name);
  }

  /** Sealed values in the store that did not open, by kind (the metrics' source). */
  sealedRefused(): ReadonlyMap<string, number> {
    return this.held?.refusedSealed ?? new Map();
  }

  /** Event-loop stalls so far (the metrics' source). */
  eventLoopStalls(): number {
    return this.eventLoop.stalls;
  }

  static async start(config: JunctionConfig, opts: ServerOptions): Promise<JunctionServer> {
    const log = opts.log;
    s3Credentials(config.firehose); // a named secret that is not set stops the start here, not at the first delivery
    const security = new SecurityService(
      {
        ...config.security,
        users: config.security.users.map((u) => ({ ...u, accessKeys: loadAccessKeys(u.username, u.accessKeys) })),
        allowAnonymous: config.security.allowAnonymous,
        identityGroups: config.tls.identityGroups,
      },
      log,
    );
    const server = new JunctionServer(config, security, log, opts.adapters ?? ADAPTERS);
    server.eventLoop.start();
    let admin = '';
    if (config.admin.enabled) {
      const a = config.admin;
      server.admin = await startAdminServer(
        {
          ...a,
          log,
          security: { authenticate: (u, p, o) => security.authenticate(u, p, o), required: () => security.hasUsers() },
          users: security,
        },
        server,
      );
      const host = ['0.0.0.0', '::', ''].includes(config.admin.host) ? hostname() : config.admin.host;
      admin = `${host}:${boundPort(server.admin)}`;
      server.adminAddress = admin;
    }
    try {
      const ha = config.ha;
      server.held = opts.store
        ? fixedStore(opts.store)
        : await openConfiguredStore(
            config.store,
            config.cluster,
            { node: server.node, admin, leaseMs: ha.leaseMs, commandTimeoutMs: ha.renewMs },
            log,
            loadSealer(config.security.encryption?.keys),
          );
      server.keeper = new RoleKeeper({
        ...ha,
        lease: server.held.lease,
        log,
        activate: (epoch, highestSeen) => server.activate(epoch, highestSeen),
        deactivate: (how) => server.deactivate(how),
      });
      log.info(
        {
          cluster: config.cluster,
          node: server.node,
          store: server.held.description,
          admin: admin || 'off',
          console: admin ? `http://${admin}/console/` : 'off',
          lease: server.held.lease.description,
        },
        'broker started as standby: checking the lease',
      );
      await server.keeper.start();
    } catch (err) {
      await server.held?.release();
      await server.admin?.close();
      server.eventLoop.stop();
      throw err;
    }
    return server;
  }

  get role(): Role {
    return this.keeper?.role ?? 'standby';
  }

  /** The active broker's core; throws on a standby. */
  get broker(): Broker {
    return this.current().broker;
  }

  get listeners(): Listeners {
    return this.current().listeners;
  }

  /** The active broker's core, undefined on a standby (the admin API's source). */
  activeBroker(): Broker | undefined {
    return this.active?.broker;
  }

  /** The active broker's delivery streams, undefined on a standby. */
  activeDeliveryStreams(): DeliveryStreams | undefined {
    return this.active?.deliveryStreams;
  }

  /** The active broker's streams, undefined on a standby. */
  activeStreams(): Streams | undefined {
    return this.active?.streams;
  }

  /** What `GET /api/broker` reports. */
  async brokerInfo(): Promise<Record<string, unknown>> {
    const h = this.health();
    const broker = this.active?.broker;
    let roundTripMs: number | undefined;
    if (broker?.storeAvailable) {
      const t0 = performance.now();
      roundTripMs = await broker.store.ping().then(
        () => Math.round((performance.now() - t0) * 1000) / 1000,
        () => undefined,
      );
    }
    const mem = process.memoryUsage();
    return {
      version: VERSION,
      node: this.node,
      cluster: this.config.cluster,
      role: h.role,
      epoch: h.epoch,
      since: h.since,
      uptimeMs: Math.round(process.uptime() * 1000),
      holder: h.holder,
      store: { type: this.held?.description, available: h.store === 'available', roundTripMs },
      memory: {
        rssBytes: mem.rss,
        heapUsedBytes: mem.heapUsed,
        alarm: h.memory === 'alarm',
        highWatermarkBytes: broker?.memory?.watermark,
      },
      listeners: this.active?.listeners.addresses.map((a) => `${a.protocol}/${a.transport} ${a.host}:${a.port}`) ?? [],
      connections: broker?.connections.size ?? 0,
      queues: broker?.listQueues().length ?? 0,
    };
  }

  private current(): ActiveBroker {
    if (!this.active) throw new Error(`broker ${this.node} is a standby: it has no listeners or working state`);
    return this.active;
  }

  private async activate(epoch: number, highestSeen = 0): Promise<void> {
    this.dataLoss.takingOver(epoch, highestSeen);
    const store = this.held.handle(epoch, () => this.keeper.leaseHeld());
    const active = await ActiveBroker.open({
      config: this.config,
      store,
      security: this.security,
      log: this.log,
      handlers: (broker, deliveryStreams, streams) =>
        this.adapters
          .filter((d) => serves(d, this.config))
          .map((d) => bindAdapter(d, { broker, deliveryStreams, streams, security: this.security, config: this.config, log: this.log })),
      deliveryStreamArn: deliveryStreamArn(this.config),
      mqttFilterToPattern,
      onStoreError: (err) => {
        // One turn later, so the refusals of the failed batch reach their clients first.
        if (err instanceof FencedError) setImmediate(() => this.keeper.fence('a store write was fenced', err));
      },
    });
    this.active = active;
    this.dataLoss.watch(store);
    const listeners = active.listeners.addresses;
    this.log.info(
      {
        role: 'active',
        epoch,
        node: this.node,
        cluster: this.config.cluster,
        store: this.held.description,
        anonymous: this.security.allowAnonymous,
        listeners: listeners.map((a) => `${a.protocol}/${a.transport} ${a.host}:${a.port}`),
        admin: this.admin ? `http ${this.config.admin.host}:${boundPort(this.admin)}` : 'off',
        console: this.adminAddress ? `http://${this.adminAddress}/console/` : 'off',
        adapters: active.protocols,
        memoryHighWatermark: active.broker.memory?.watermark,
      },
      this.adapters.length === 0 ? 'broker running with no protocol adapters installed' : 'broker running',
    );
  }

  private async deactivate(how: Deactivation): Promise<void> {
    const active = this.active;
    if (!active) return;
    this.dataLoss.stopWatching();
    // Counted, and the store asked, before the close empties the broker and ends the store's connection.
    const report = how === 'fenced' ? this.dataLoss.fenced(active.broker.store, active.broker.operations.holdings()) : undefined;
    await active.close(how);
    await report;
    if (this.active === active) this.active = undefined;
  }

  /** Steps down to standby at once (see RoleKeeper.fence); no-op unless active. */
  fence(reason: string, err?: unknown): void {
    this.keeper.fence(reason, err);
  }

  /**
   * What `/health` reports: 200 only for the active broker with its store reachable. The memory
   * alarm does not make the broker unhealthy (it is flow control, and a standby would fare no
   * better), but it is shown.
   */
  health(): Health {
    const active = this.active;
    const role = this.role;
    const store = active ? active.broker.storeAvailable : (this.keeper?.lockReachable ?? false);
    const ok = role === 'active' && active !== undefined && !this.stopping && active.broker.running && store;
    const h: Health = {
      status: ok ? 'ok' : 'unavailable',
      role,
      epoch: this.keeper?.epoch ?? 0,
      since: new Date(this.keeper?.since ?? Date.now()).toISOString(),
      node: this.node,
      stopping: this.stopping !== undefined,
      store: store ? 'available' : 'unavailable',
      memory: active?.broker.memory?.alarm ? 'alarm' : 'ok',
    };
    if (role === 'standby' && this.keeper?.holder) h.holder = this.keeper.holder;
    return h;
  }

  /** Stops serving (pending writes first), hands the lease over, closes the store and the admin port. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info({ role: this.role }, 'broker stopping: no longer accepting connections');
      await this.keeper.stop();
      await this.held.release();
      await this.admin?.close();
      this.eventLoop.stop();
      this.dataLoss.stopWatching();
      this.log.info('broker stopped');
      this.resolveDone();
    })();
    return this.stopping;
  }
}

/** Delivery stream ARNs in the AWS door's region and account (its defaults when the door is not configured). */
function deliveryStreamArn(config: JunctionConfig): (stream: string) => string {
  const aws = (config as { aws?: { region?: string; accountId?: string } }).aws;
  const region = aws?.region ?? 'us-east-1';
  const account = aws?.accountId ?? '000000000000';
  return (stream) => `arn:aws:firehose:${region}:${account}:deliverystream/${stream}`;
}
