// The ordered frame pump a connection runs its parsed frames through: frames are handled one at a
// time in arrival order; a handler that returns a promise holds the frames behind it until it
// settles; a frame the connection cannot take yet (MQTT 5: a PUBLISH past Receive Maximum) waits
// at the head until `run()` is called again. With a socket to steer, the pump stops reading while
// frames wait and reads again once they are all handled, so a client that sends faster than its
// frames are handled is held by TCP, not by memory. Protocol-free: the owner keeps its state.

/** What the owning connection does with its frames. */
export interface FrameHandler<F> {
  /** Handles one frame: synchronously, or by a promise that holds the frames behind it. */
  handle(frame: F): void | Promise<void>;
  /** A frame's handling threw or rejected: true to go on with the next frame, false to stop. */
  failed(err: unknown, frame: F): boolean;
  /** Whether the frame at the head may be handled now (default: always). */
  ready?(frame: F): boolean;
}

/** The socket a pump steers: paused while frames wait, resumed once none do. */
export interface ReadFlow {
  pause(): void;
  resume(): void;
  isPaused(): boolean;
}

export class FramePump<F> {
  private readonly waiting: F[] = [];
  private busy = false;
  private stopped = false;

  constructor(
    private readonly handler: FrameHandler<F>,
    private readonly flow?: ReadFlow,
  ) {}

  /** Frames that arrived; handled now unless earlier ones still hold the pump. */
  push(frames: Iterable<F>): void {
    for (const f of frames) this.waiting.push(f);
    this.run();
  }

  /** A frame that arrived, to be handled at the next `run()` (a parser emitting frames one by one). */
  add(frame: F): void {
    this.waiting.push(frame);
  }

  /** Handles the waiting frames in order, as far as they may go now. */
  run(): void {
    while (!this.busy && !this.stopped && this.waiting.length > 0) {
      const f = this.waiting[0] as F;
      if (this.handler.ready && !this.handler.ready(f)) break;
      this.waiting.shift();
      let r: void | Promise<void>;
      try {
        r = this.handler.handle(f);
      } catch (err) {
        if (this.handler.failed(err, f)) continue;
        return;
      }
      if (r) {
        this.busy = true;
        r.then(
          () => this.settled(),
          (err: unknown) => {
            if (this.handler.failed(err, f)) this.settled();
            else this.busy = false;
          },
        );
      }
    }
    if (this.stopped || !this.flow) return;
    if (this.waiting.length > 0) this.flow.pause();
    else if (this.flow.isPaused()) this.flow.resume();
  }

  /** Takes the waiting frames that `pick` chooses out of the line, in order. */
  take(pick: (frame: F) => boolean): F[] {
    const taken: F[] = [];
    for (let i = 0; i < this.waiting.length;) {
      const f = this.waiting[i] as F;
      if (pick(f)) {
        taken.push(f);
        this.waiting.splice(i, 1);
      } else i++;
    }
    return taken;
  }

  /** Drops the waiting frames; the pump goes on with what arrives next. */
  clear(): void {
    this.waiting.length = 0;
  }

  /** Drops the waiting frames and handles nothing more (the connection is ending). */
  stop(): void {
    this.stopped = true;
    this.waiting.length = 0;
  }

  private settled(): void {
    this.busy = false;
    this.run();
  }
}
