// One connection's writes batched per event-loop turn: the first write of a turn corks the stream,
// and one setImmediate, shared by every stream written that turn, uncorks them all, so the kernel
// gets one writev per socket per turn instead of one per packet. A callback given with a write
// (a QoS 0 delivery's settlement) runs once its bytes are handed to the stream and the stream's
// buffer is under its high-water mark, else at the next 'drain': a client that reads slowly holds
// back its own deliveries (the core's window), never the broker's memory.
import type { Writable } from 'node:stream';

let dirty: BatchedWriter[] = [];
let spare: BatchedWriter[] = [];
let scheduled = false;

function flushAll(): void {
  scheduled = false;
  const list = dirty;
  dirty = spare;
  spare = list;
  for (let i = 0; i < list.length; i++) (list[i] as BatchedWriter).flush();
  list.length = 0;
}

/** What is told, with the number given, when a write's bytes are out (an object, so no closure per write). */
export interface WriteTarget {
  written(n: number): void;
}

/** Writes whose targets are still to be told: targets and their numbers, side by side. */
interface Pending {
  targets: WriteTarget[];
  numbers: number[];
}

function tell(p: Pending): void {
  for (let i = 0; i < p.targets.length; i++) (p.targets[i] as WriteTarget).written(p.numbers[i] as number);
}

export class BatchedWriter {
  private corked = false;
  /** This turn's writes with a target (made at the first: a connection that only reads needs none). */
  private after: Pending | undefined;
  /** The other of two Pending records that take turns, so a turn allocates none. */
  private spare: Pending | undefined;
  /** Writes with a target waiting for 'drain'. */
  private waiting: Pending | undefined;

  constructor(private readonly stream: Writable) {}

  /** Holds this turn's writes to the stream (its own and anyone else's) until the turn ends. */
  hold(): void {
    if (this.corked) return;
    this.corked = true;
    this.stream.cork();
    dirty.push(this);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flushAll);
    }
  }

  /**
   * Writes `bytes` (and `more`, when given) in this turn's batch; `target` is told `n` when the
   * stream can take more. Nothing is told of writes to a destroyed stream.
   */
  write(bytes: Uint8Array, more?: Uint8Array, target?: WriteTarget, n = 0): void {
    if (this.stream.destroyed) return;
    this.hold();
    this.stream.write(bytes);
    if (more !== undefined && more.length > 0) this.stream.write(more);
    if (target) this.tellAfter(target, n);
  }

  /** Tells `target` `n` once what this turn wrote is out (and the stream can take more). */
  tellAfter(target: WriteTarget, n: number): void {
    this.hold();
    const after = (this.after ??= { targets: [], numbers: [] });
    after.targets.push(target);
    after.numbers.push(n);
  }

  /** @internal Ends this turn's batch. */
  flush(): void {
    this.corked = false;
    const stream = this.stream;
    stream.uncork();
    const after = this.after;
    if (after === undefined || after.targets.length === 0) return;
    this.after = this.spare;
    if (this.waiting || (stream.writableNeedDrain && !stream.destroyed)) {
      this.spare = undefined;
    } else {
      tell(after);
      after.targets.length = 0;
      after.numbers.length = 0;
      this.spare = after;
      return;
    }
    if (this.waiting) {
      for (let i = 0; i < after.targets.length; i++) {
        this.waiting.targets.push(after.targets[i] as WriteTarget);
        this.waiting.numbers.push(after.numbers[i] as number);
      }
      return;
    }
    this.waiting = after;
    stream.once('drain', () => {
      const waiting = this.waiting;
      this.waiting = undefined;
      if (waiting) tell(waiting);
    });
  }
}
