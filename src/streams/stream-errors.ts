// What the streams refuse, in the shared error vocabulary (the Kinesis API maps each to its own
// exception; STOMP and AMQP to theirs).
import { JunctionError } from '../shared/errors.ts';

export class StreamNotFoundError extends JunctionError {
  constructor(stream: string, what = `Stream ${stream} not found`) {
    super('not-found', what, { stream });
  }
}

/** The stream is being made, changed or removed by another request, or already exists. */
export class StreamInUseError extends JunctionError {
  constructor(message: string, stream: string) {
    super('in-use', message, { stream });
  }
}

export class StreamArgumentError extends JunctionError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('invalid-argument', message, context);
  }
}

/** A bound of the configuration (shards per stream, shards in all) would be passed. */
export class StreamLimitError extends JunctionError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('resource-limit', message, context);
  }
}

/** A PROVISIONED shard's per-second limit was reached: the caller backs off and retries. */
export class ThroughputExceededError extends JunctionError {
  constructor(stream: string, shard: string, what: string) {
    super('queue-full', `Rate exceeded for shard ${shard} in stream ${stream} (${what}).`, { stream, shard });
  }
}
