// The lease lock in Redis (see ../lease.ts): `SET NX PX` with a random token, renewed and released
// by compare-and-act scripts (lua/lease/), on a connection of its own so that a long store batch
// never delays a renewal. The holder registers that connection's CLIENT ID with the lease (again
// at once after a reconnect); a standby that finds the id missing from CLIENT LIST on two checks in
// a row (the holder's process died and the kernel closed its socket) takes the lease, in one script
// that checks the token and id it saw.
// On Redis Cluster the id cannot be checked against the right node, so a standby waits the lease out.
import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { StoreUnavailableError } from '../../shared/errors.ts';
import type { AcquireResult, Lease, LeaseHolder } from '../lease.ts';
import { createRedisClient, describeConnection, explain, type RedisClient, type RedisConnection } from './connect.ts';
import { Keys } from './keys.ts';
import { defineLeaseScripts, type LeaseScriptName } from './scripts.ts';

export interface RedisLeaseOptions extends RedisConnection {
  cluster: string;
  /** This broker's name in the holder record. */
  node: string;
  /** Its admin address, for `junction status` ('' when off). */
  admin: string;
  leaseMs: number;
  /** Replicas that must have the lease before it counts (0: none). */
  minReplicas: number;
  replicaTimeoutMs: number;
  /** A lease command unanswered this long fails (the renewal is then tried again). */
  commandTimeoutMs: number;
}

type LeaseScripts = Record<`lease${Capitalize<LeaseScriptName>}`, (...args: Array<string | number>) => Promise<number>>;

export class RedisLease implements Lease {
  readonly description: string;
  private readonly redis: RedisClient;
  private readonly keys: Keys;
  private readonly token = randomUUID();
  /** This connection's CLIENT ID while it is connected ('' before it is known, and on Cluster). */
  private clientId = '';
  /** The run_id of the Redis server it is connected to: client ids are only unique within one. */
  private runId = '';
  private readonly fastTakeover: boolean;
  /** True while this process holds the lease, as far as it knows. */
  private holding = false;
  /** The holder (token and connection id) whose connection the last check found gone. */
  private goneAtLastCheck = '';

  constructor(private readonly opts: RedisLeaseOptions) {
    this.keys = new Keys(opts.cluster);
    this.description = describeConnection(opts);
    this.redis = createRedisClient(opts, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.commandTimeoutMs,
      connectionName: `junction-lease:${opts.node}`.replace(/\s/g, '_'),
      retryStrategy: () => 100,
    });
    this.fastTakeover = !(this.redis instanceof Cluster);
    defineLeaseScripts(this.redis);
    this.redis.on('close', () => (this.clientId = ''));
    // A holder whose lease connection came back registers its new connection at once, so a
    // standby does not take a reconnect for a dead process.
    this.redis.on('ready', () => {
      if (this.holding) void this.renew().catch(() => {});
    });
  }

  private get scripts(): LeaseScripts {
    return this.redis as unknown as LeaseScripts;
  }

  /** Connects when not yet connected and learns this connection's id. */
  private async ready(): Promise<void> {
    try {
      if (this.redis.status === 'wait') await this.redis.connect();
      if (this.fastTakeover && this.clientId === '') {
        const [id, info] = await Promise.all([this.redis.client('ID'), this.redis.info('server')]);
        this.runId = /run_id:(\w+)/.exec(String(info))?.[1] ?? '';
        this.clientId = String(id);
      }
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  private unavailable(err: unknown): StoreUnavailableError {
    const e = err instanceof Error ? err : new Error(String(err));
    return new StoreUnavailableError(`The lease lock is unreachable (${this.description}): ${explain(this.redis, e)}`, e);
  }

  async acquire(): Promise<AcquireResult> {
    await this.ready();
    const k = this.keys;
    try {
      const [token, fields] = await Promise.all([this.redis.get(k.lease), this.redis.hgetall(k.leaseHolder)]);
      let seenToken = '';
      let seenClient = '';
      if (token !== null) {
        const holder = toHolder(fields);
        const id = fields.clientId ?? '';
        if (!this.fastTakeover || id === '' || token === this.token) return { holder };
        // Registered on another Redis server (restarted, or failed over): that connection is gone for sure.
        const elsewhere = fields.runId !== undefined && fields.runId !== this.runId;
        const missing = elsewhere || String(await this.redis.client('LIST', 'ID', id)).trim() === '';
        const gone = `${token}/${id}`;
        // Gone on two checks in a row: a holder whose connection only dropped has re-registered by then.
        if (!missing || this.goneAtLastCheck !== gone) {
          this.goneAtLastCheck = missing ? gone : '';
          return missing ? { holder, suspect: true } : { holder };
        }
        seenToken = token;
        seenClient = id;
      }
      const epoch = await this.scripts.leaseAcquire(
        k.lease,
        k.leaseHolder,
        k.epoch,
        k.epochCounter,
        this.token,
        this.opts.leaseMs,
        seenToken,
        seenClient,
        this.opts.node,
        this.clientId,
        this.opts.admin,
        Date.now(),
        this.runId,
      );
      this.goneAtLastCheck = '';
      this.holding = epoch > 0;
      return epoch > 0 ? { epoch: Number(epoch) } : {};
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  async renew(): Promise<boolean> {
    await this.ready();
    try {
      const ours =
        (await this.scripts.leaseRenew(
          this.keys.lease,
          this.keys.leaseHolder,
          this.token,
          this.opts.leaseMs,
          this.clientId,
          this.runId,
        )) === 1;
      if (!ours) this.holding = false;
      return ours;
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  async release(): Promise<void> {
    this.holding = false;
    if (this.redis.status !== 'ready') return;
    await this.scripts.leaseRelease(this.keys.lease, this.keys.leaseHolder, this.token).catch(() => 0);
  }

  /** After taking the lease: whether `minReplicas` replicas have it (WAIT covers this connection's writes). */
  async replicated(): Promise<boolean> {
    if (this.opts.minReplicas === 0) return true;
    try {
      return (await this.redis.wait(this.opts.minReplicas, this.opts.replicaTimeoutMs)) >= this.opts.minReplicas;
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  async close(): Promise<void> {
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
  }
}

function toHolder(f: Record<string, string>): LeaseHolder {
  return { node: f.node ?? '', epoch: Number(f.epoch ?? 0), since: Number(f.since ?? 0), admin: f.admin ?? '' };
}
