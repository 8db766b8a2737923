// The one error vocabulary of Junction, shared by the store, the core, configuration, the network
// listeners and the adapters. Each error carries a stable `code` that adapters map to their
// protocol's own error (STOMP ERROR, MQTT reason code, AMQP condition) and a `context` for logs.

export type ErrorCode =
  | 'invalid-destination'
  | 'invalid-message'
  | 'invalid-selector'
  | 'queue-full'
  /** A bound on what one client may hold in the broker (a transaction's size). */
  | 'resource-limit'
  | 'not-authorized'
  | 'not-authenticated'
  | 'subscription-conflict'
  | 'unknown-delivery'
  | 'not-found'
  /** An object made by another request exists, or a change raced another (delivery streams). */
  | 'in-use'
  | 'version-mismatch'
  /** A request's value the object it names cannot take. */
  | 'invalid-argument'
  | 'fenced'
  | 'store-unavailable'
  | 'closed'
  | 'config'
  /** A client broke its protocol's rules (raised by adapters). */
  | 'protocol'
  /** A record sealed at rest does not open: tampered, truncated, moved, or sealed with a key not given. */
  | 'sealed-record';

export class JunctionError extends Error {
  readonly code: ErrorCode;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, context: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.context = context;
  }
}

export class InvalidDestinationError extends JunctionError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('invalid-destination', message, context);
  }
}

export class InvalidMessageError extends JunctionError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('invalid-message', message, context);
  }
}

export class SelectorSyntaxError extends JunctionError {
  readonly position: number;
  constructor(message: string, selector: string, position: number) {
    super('invalid-selector', `Invalid selector at position ${position + 1}: ${message}`, { selector, position });
    this.position = position;
  }
}

export class QueueFullError extends JunctionError {
  constructor(queue: string, limit: string) {
    super('queue-full', `Queue ${queue} is full (${limit}); the message was not accepted`, { queue, limit });
  }
}

export class ResourceLimitError extends JunctionError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('resource-limit', message, context);
  }
}

export class NotAuthorizedError extends JunctionError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('not-authorized', message, context);
  }
}

export class NotAuthenticatedError extends JunctionError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('not-authenticated', message, context);
  }
}

export class SubscriptionConflictError extends JunctionError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('subscription-conflict', message, context);
  }
}

export class UnknownDeliveryError extends JunctionError {
  constructor(tag: number, consumerId: string) {
    super('unknown-delivery', `Delivery ${tag} is not in flight for consumer ${consumerId}`, { tag, consumerId });
  }
}

export class NotFoundError extends JunctionError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('not-found', message, context);
  }
}

export class FencedError extends JunctionError {
  constructor(epoch: number, current: number, message = `Store write refused: epoch ${epoch} is older than the current epoch ${current}`) {
    super('fenced', message, { epoch, current });
  }
}

/**
 * The store lost this cluster's data since this broker opened it (Redis restarted without its
 * files, was flushed, or failed over to an empty replica): nothing was written, and the broker
 * steps down as when fenced.
 */
export class StoreDataLostError extends FencedError {
  constructor(epoch: number, where: string) {
    super(epoch, 0, `Store write refused: Redis lost this cluster's data (${where}) since epoch ${epoch} opened it`);
  }
}

/** The store cannot be reached; nothing was written. The client may retry. */
export class StoreUnavailableError extends JunctionError {
  constructor(message: string, cause: unknown) {
    super('store-unavailable', message, { cause: cause instanceof Error ? cause.message : String(cause) });
  }
}

export class ClosedError extends JunctionError {
  constructor(what: string) {
    super('closed', `${what} is closed`, { what });
  }
}

export class ConfigError extends JunctionError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('config', message, context);
  }
}

/** A value in the store sealed by `security.encryption` does not open; it was not used, and is left in place. */
export class SealedRecordError extends JunctionError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('sealed-record', message, context);
  }
}

/** A stream shard's log is not there to append to (its stream was deleted, or the shard not claimed). */
export class StreamShardMissingError extends JunctionError {
  constructor(stream: string, shard: string) {
    super('not-found', `Stream ${stream} has no shard ${shard} to append to`, { stream, shard });
  }
}
