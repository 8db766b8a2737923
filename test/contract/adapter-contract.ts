// The duties every protocol adapter shares (adapters/README.md), as one suite each adapter runs with
// a client of its own protocol, the way store-contract.ts runs for every store: acknowledge a
// persistent message only once the store has it; answer a connection over a limit with the
// protocol's refusal; tell the listener when the handshake is done; on a lost connection let go of
// what its consumers held and tell the core the connection is gone; close clients when the broker
// stops (with the protocol's goodbye where it has one); and, where the protocol has transactions,
// make their acknowledgements count only at commit. A new adapter inherits the suite by writing a
// driver.
import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AdapterDescriptor } from '../../adapters/adapter.ts';
import type { JunctionServer } from '../../src/server.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import type { StoreOp } from '../../src/store/store.ts';
import { Collector } from '../helpers/collector.ts';
import { startTestServer } from '../helpers/server.ts';

export interface ContractDelivery {
  readonly body: string;
  /** Acknowledges it (outside any transaction). */
  ack(): void;
}

export interface ContractTransaction {
  /** Acknowledges a delivery inside the transaction. */
  ack(d: ContractDelivery): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** A connected client of the driver's protocol. */
export interface ContractClient {
  /** Everything delivered to this client since it connected, in order. */
  readonly received: Collector<ContractDelivery>;
  /** Sends a persistent message; resolves once the broker acknowledged it (a receipt, PUBACK, accepted). */
  send(channel: string, body: string): Promise<void>;
  /** Starts consuming `channel` with acknowledgements by hand. */
  consume(channel: string): Promise<void>;
  /** Where the protocol has transactions. */
  transaction?(): Promise<ContractTransaction>;
  /** A graceful close. */
  end(): Promise<void>;
  /** The connection cut without a word (the socket destroyed). */
  kill(): void;
  /** Resolves when the broker closes the connection, with what it said on the way (its goodbye), or ''. */
  readonly gone: Promise<string>;
}

export interface AdapterDriver {
  /** The server's adapters (the one under test among them). */
  readonly adapters: readonly AdapterDescriptor[];
  /** The protocol's name in the registry (its listener). */
  readonly protocol: string;
  /**
   * Connects as `identity` (MQTT: the client id of a persistent session, so a client connecting
   * again with it resumes; the other protocols share queues and ignore it).
   */
  connect(server: JunctionServer, identity: string): Promise<ContractClient>;
  /** Connects where the broker must refuse; resolves with what the client library reported. */
  connectRefused(server: JunctionServer): Promise<string>;
  /** What a refusal over a connection limit reads like in this protocol. */
  readonly refusal: RegExp;
  /** The goodbye a client hears when the broker stops, where the protocol has one. */
  readonly goodbye?: RegExp;
  /** The protocol has transactions (its clients offer `transaction()`). */
  readonly transactional: boolean;
}

/** A memory store whose message writes can be held, to see what a client hears before the store has a message. */
class HeldStore extends MemoryStore {
  /** Batches held so far. */
  readonly held = new Collector<readonly StoreOp[]>();
  private gate: Promise<void> | undefined;
  private openGate: () => void = () => {};

  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  pass(): void {
    this.gate = undefined;
    this.openGate();
  }

  override async apply(ops: readonly StoreOp[]): Promise<void> {
    const gate = this.gate;
    if (gate && ops.some((op) => op.type === 'enqueue')) {
      this.held.push(ops);
      await gate;
    }
    return super.apply(ops);
  }
}

/** One client sends to itself: what it consumes, it receives and acknowledges. */
async function roundTrip(c: ContractClient, ch: string, body: string): Promise<void> {
  await c.consume(ch);
  const sent = c.send(ch, body);
  const got = await c.received.nth(c.received.items.length + 1);
  expect(got.body).toBe(body);
  got.ack();
  await sent;
}

/** Settles or not within this turn of the event loop and the next. */
async function settledSoon(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

export function describeAdapterContract(name: string, driver: AdapterDriver): void {
  describe(`adapter contract: ${name}`, () => {
    let server: JunctionServer | undefined;
    const clients: ContractClient[] = [];
    const sockets: net.Socket[] = [];
    let channels = 0;
    const channel = (): string => `contract.${name.replace(/\W+/g, '')}.${++channels}`;

    const start = async (extra: Record<string, unknown> = {}, store?: MemoryStore): Promise<JunctionServer> => {
      const listeners = { [driver.protocol]: { port: 0, tls: false }, websocket: { enabled: false } };
      ({ server } = await startTestServer(driver.adapters, listeners, extra, store));
      return server;
    };
    const connect = async (s: JunctionServer, identity = `c${clients.length}`): Promise<ContractClient> => {
      const c = await driver.connect(s, identity);
      clients.push(c);
      return c;
    };

    afterEach(async () => {
      for (const c of clients.splice(0)) c.kill();
      for (const s of sockets.splice(0)) s.destroy();
      await server?.stop();
      server = undefined;
    });

    it('acknowledges a persistent message only once the store has it', async () => {
      const store = new HeldStore();
      const s = await start({}, store);
      const consumer = await connect(s, 'consumer');
      const ch = channel();
      await consumer.consume(ch);
      const producer = await connect(s, 'producer');
      store.hold();
      const sent = producer.send(ch, 'held');
      await store.held.nth(1);
      expect(await settledSoon(sent)).toBe(false);
      expect(consumer.received.items).toHaveLength(0);
      store.pass();
      await sent;
      expect((await consumer.received.nth(1)).body).toBe('held');
    });

    it("answers a connection over a limit with the protocol's refusal, and serves the others on", async () => {
      const s = await start({ limits: { maxConnections: 1 } });
      const first = await connect(s, 'first');
      const refusal = await driver.connectRefused(s);
      expect(refusal).toMatch(driver.refusal);
      await roundTrip(first, channel(), 'still served');
    });

    it('keeps a client that completed its handshake past the deadline that closes a silent one', async () => {
      const s = await start({ limits: { connectTimeoutMs: 300 } });
      const client = await connect(s, 'prompt');
      const silent = net.connect(s.listeners.port(driver.protocol, 'tcp') as number, '127.0.0.1');
      sockets.push(silent);
      silent.on('error', () => {});
      silent.resume();
      await once(silent, 'close');
      await roundTrip(client, channel(), 'after the deadline');
    });

    it('on a lost connection, gives back what its consumers held and forgets the connection', async () => {
      const s = await start();
      const ch = channel();
      const first = await connect(s, 'worker');
      await first.consume(ch);
      const producer = await connect(s, 'producer');
      await producer.send(ch, 'job');
      expect((await first.received.nth(1)).body).toBe('job');
      const before = s.broker.connections.list().length;
      first.kill();
      await vi.waitFor(() => expect(s.broker.connections.list().length).toBe(before - 1), { timeout: 5000, interval: 20 });
      const second = await connect(s, 'worker');
      // A client may handle deliveries in order with everything else (mqtt.js): it acknowledges before it waits for more.
      const consuming = second.consume(ch);
      const again = await second.received.nth(1);
      expect(again.body).toBe('job');
      again.ack();
      await consuming;
    });

    it('closes its clients when the broker stops', async () => {
      const s = await start();
      const client = await connect(s, 'stays');
      await s.stop();
      server = undefined;
      const said = await Promise.race([
        client.gone,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('still open 5 s after the stop')), 5000)),
      ]);
      if (driver.goodbye) expect(said).toMatch(driver.goodbye);
    });

    if (driver.transactional)
      it('makes an acknowledgement inside a transaction count only at commit', async () => {
        const s = await start();
        const ch = channel();
        const producer = await connect(s, 'producer');
        const consumer = await connect(s, 'consumer');
        if (!consumer.transaction) throw new Error("a transactional protocol's client offers transaction()");
        await consumer.consume(ch);
        await producer.send(ch, 'once');
        const queued = (): number => s.broker.listQueues().find((q) => q.name.endsWith(ch))?.messages ?? -1;
        const rolledBack = await consumer.transaction();
        await rolledBack.ack(await consumer.received.nth(1));
        await rolledBack.rollback();
        const again = await consumer.received.nth(2);
        expect(again.body).toBe('once');
        const committed = await consumer.transaction();
        await committed.ack(again);
        expect(queued()).toBe(1);
        await committed.commit();
        await vi.waitFor(() => expect(queued()).toBe(0), { timeout: 5000, interval: 20 });
      });
  });
}
