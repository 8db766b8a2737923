// Sealing a store batch's messages off the broker's thread. A seal costs about 5 µs there, almost
// all of it Node's per-call cipher setup, which caps the core at about half its rate with
// encryption on; a worker thread takes that work, and the broker pays only for handing the packed
// messages over and back. The worker runs `writeEnvelope` and `fillNonce` from sealer.ts, from
// their source text, so there is one envelope writer. Batches are answered in the order they were
// sent (one worker, one queue), so the store's batches still reach Redis in order.
import { Worker } from 'node:worker_threads';
import { fillNonce, writeEnvelope, type Sealer } from '../sealer.ts';

/** Below this many messages a batch is sealed on the broker's thread: the round trip would cost more. */
export const WORKER_BATCH = 8;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createCipheriv, randomBytes } = require('node:crypto');
const writeEnvelope = ${writeEnvelope.toString()};
const fillNonce = ${fillNonce.toString()};
const keyId = Buffer.from(workerData.keyId);
const key = Buffer.from(workerData.key);
const base = randomBytes(12);
let sealed = 0;
parentPort.on('message', ({ id, items }) => {
  try {
    const out = items.map(([plain, context]) => {
      const nonce = Buffer.allocUnsafe(12);
      fillNonce(base, ++sealed, nonce);
      return writeEnvelope(createCipheriv, keyId, key, nonce, plain, context);
    });
    parentPort.postMessage({ id, out });
  } catch (err) {
    parentPort.postMessage({ id, error: String((err && err.message) || err) });
  }
});
`;

interface Pending {
  resolve(out: Buffer[]): void;
  reject(err: Error): void;
}

export class SealWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private next = 0;
  private failed: Error | undefined;

  constructor(sealer: Sealer) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { keyId: Buffer.from(sealer.active.id), key: sealer.active.key },
    });
    this.worker.unref();
    this.worker.on('message', (m: { id: number; out?: Uint8Array[]; error?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error !== undefined || !m.out) p?.reject(new Error(`the seal worker failed: ${m.error ?? 'no answer'}`));
      else p?.resolve(m.out.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)));
    });
    const fail = (err: Error): void => {
      this.failed ??= err;
      for (const p of this.pending.values()) p.reject(this.failed);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the seal worker exited (${code})`)));
  }

  /** Whether it can take work (a worker that failed or stopped cannot). */
  get usable(): boolean {
    return this.failed === undefined;
  }

  /** Seals each plain value for its context with the active key, in the worker. */
  seal(items: ReadonlyArray<readonly [Uint8Array, string]>): Promise<Buffer[]> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, items });
    });
  }

  async close(): Promise<void> {
    this.failed ??= new Error('the seal worker is closed');
    await this.worker.terminate();
  }
}
