// The batched writer on real loopback sockets: one turn's writes arrive whole and in order, their
// targets are told after the turn, and while the peer does not read (the socket's buffer is full)
// nobody is told until it reads again: the back-pressure that holds a slow subscriber's deliveries.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchedWriter, type WriteTarget } from '../../src/net/batched-writer.ts';
import { socketPair } from '../helpers/socket-pair.ts';

const open: Array<net.Server | net.Socket> = [];

afterEach(() => {
  for (const x of open.splice(0)) {
    if (x instanceof net.Server) x.close();
    else x.destroy();
  }
});

/** A connected pair: `ours` writes, `peer` reads (paused until the test resumes it). */
async function pair(): Promise<{ ours: net.Socket; peer: net.Socket }> {
  const p = await socketPair(open);
  p.peer.pause();
  return p;
}

class Told implements WriteTarget {
  readonly numbers: number[] = [];
  written(n: number): void {
    this.numbers.push(n);
  }
}

function within<T>(ms: number, p: Promise<T>): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms))]);
}

describe('BatchedWriter', () => {
  it("sends one turn's writes in order, and tells their targets after the turn", async () => {
    const { ours, peer } = await pair();
    const w = new BatchedWriter(ours);
    const told = new Told();
    const expected: Buffer[] = [];
    for (let i = 0; i < 500; i++) {
      const head = Buffer.from(`h${i}:`);
      const body = Buffer.from(`body-${i};`);
      expected.push(head, body);
      w.write(head, body, told, i);
    }
    expect(told.numbers).toEqual([]);
    const all = Buffer.concat(expected);
    const got: Buffer[] = [];
    let n = 0;
    const received = new Promise<void>((resolve) =>
      peer.on('data', (d: Buffer) => {
        got.push(d);
        n += d.length;
        if (n >= all.length) resolve();
      }),
    );
    peer.resume();
    await within(5000, received);
    expect(Buffer.concat(got).equals(all)).toBe(true);
    await within(5000, new Promise<void>((r) => setImmediate(r)));
    expect(told.numbers).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  it('while the peer does not read, tells no target until it reads again', async () => {
    const { ours, peer } = await pair();
    const w = new BatchedWriter(ours);
    const told = new Told();
    const chunk = Buffer.alloc(1 << 20, 1);
    let sent = 0;
    // Turn after turn until the kernel's buffers are full and the socket's own buffer is over its mark.
    while (!ours.writableNeedDrain) {
      w.write(chunk, undefined, told, ++sent);
      await new Promise<void>((r) => setImmediate(r));
      await new Promise<void>((r) => setImmediate(r));
    }
    const toldWhileFull = told.numbers.length;
    expect(toldWhileFull).toBeLessThan(sent);
    w.write(chunk, undefined, told, ++sent);
    await new Promise<void>((r) => setImmediate(r));
    expect(told.numbers.length).toBe(toldWhileFull);
    let read = 0;
    const all = new Promise<void>((resolve) =>
      peer.on('data', (d: Buffer) => {
        read += d.length;
        if (read >= sent * chunk.length) resolve();
      }),
    );
    peer.resume();
    await within(10_000, all);
    await within(5000, new Promise<void>((r) => setImmediate(r)));
    expect(told.numbers).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
  });
});
