// The frame pump STOMP and MQTT 5 run their frames through: arrival order kept across synchronous
// and asynchronous handlers, a frame that may not go yet waits at the head, a failure either skips
// the frame or stops the pump, and the socket it steers (a real loopback one) stops reading while
// frames wait and reads again once none do.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FramePump } from '../../src/net/frame-pump.ts';
import { socketPair } from '../helpers/socket-pair.ts';

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const sockets: Array<net.Server | net.Socket> = [];
afterEach(() => {
  for (const s of sockets.splice(0)) {
    if (s instanceof net.Server) s.close();
    else s.destroy();
  }
});

describe('FramePump', () => {
  it('handles frames in order; an asynchronous one holds those behind it until it settles', async () => {
    const handled: string[] = [];
    const gate = deferred();
    const pump = new FramePump<string>({
      handle: (f) => {
        handled.push(f);
        return f === 'slow' ? gate.promise : undefined;
      },
      failed: () => true,
    });
    pump.push(['a', 'slow', 'b']);
    pump.push(['c']);
    expect(handled).toEqual(['a', 'slow']);
    gate.resolve();
    await gate.promise;
    await Promise.resolve();
    expect(handled).toEqual(['a', 'slow', 'b', 'c']);
  });

  it('keeps a frame that may not go yet at the head, behind which the rest wait, until run again', () => {
    const handled: number[] = [];
    let room = 1;
    const pump = new FramePump<number>({
      handle: (f) => {
        handled.push(f);
        room--;
      },
      failed: () => true,
      ready: () => room > 0,
    });
    pump.push([1, 2, 3]);
    expect(handled).toEqual([1]);
    room = 2;
    pump.run();
    expect(handled).toEqual([1, 2, 3]);
  });

  it('skips a failed frame when told to go on, and handles nothing more when told to stop', async () => {
    const failures: string[] = [];
    const goOn = new FramePump<string>({
      handle: (f) => {
        if (f === 'bad') throw new Error('bad frame');
      },
      failed: (err, f) => {
        failures.push(`${f}: ${(err as Error).message}`);
        return true;
      },
    });
    const handledAfter: string[] = [];
    const rejected = deferred();
    const stopping = new FramePump<string>({
      handle: (f) => {
        handledAfter.push(f);
        return f === 'async-bad' ? rejected.promise : undefined;
      },
      failed: () => false,
    });
    goOn.push(['bad', 'good']);
    expect(failures).toEqual(['bad: bad frame']);
    stopping.push(['async-bad', 'never']);
    rejected.reject(new Error('refused'));
    await rejected.promise.catch(() => undefined);
    await Promise.resolve();
    expect(handledAfter).toEqual(['async-bad']);
  });

  it('holds frames added one by one until run, then handles them in order', () => {
    const handled: string[] = [];
    const pump = new FramePump<string>({ handle: (f) => void handled.push(f), failed: () => true });
    pump.add('connect');
    pump.add('publish');
    expect(handled).toEqual([]);
    pump.run();
    expect(handled).toEqual(['connect', 'publish']);
  });

  it('takes chosen frames out of the line in order, and stop() drops the rest', () => {
    const gate = deferred();
    const handled: string[] = [];
    const pump = new FramePump<string>({
      handle: (f) => {
        handled.push(f);
        return f === 'commit' ? gate.promise : undefined;
      },
      failed: () => true,
    });
    pump.push(['commit', 'ack1', 'send', 'ack2']);
    expect(pump.take((f) => f.startsWith('ack'))).toEqual(['ack1', 'ack2']);
    pump.stop();
    gate.resolve();
    expect(handled).toEqual(['commit']);
  });

  it('pauses the socket while frames wait and resumes it once none do', async () => {
    const { peer: socket } = await socketPair(sockets);
    socket.resume();
    const gate = deferred();
    const pump = new FramePump<string>({ handle: (f) => (f === 'slow' ? gate.promise : undefined), failed: () => true }, socket);
    pump.push(['slow', 'next']);
    expect(socket.isPaused()).toBe(true);
    gate.resolve();
    await gate.promise;
    await Promise.resolve();
    expect(socket.isPaused()).toBe(false);
  });
});
