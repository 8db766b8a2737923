// What one AWS API (SQS, SNS...) gives the door: its service model, how JSON clients name it, and
// a handler per operation taking the operation's input in its JSON shape (the query protocol's
// parameters are decoded into the same shape first), whichever wire protocol carried it.
import type { Principal } from '../../src/core/principal.ts';
import type { JsonObject, ServiceModel } from './model/shape.ts';

export interface AwsCall {
  readonly action: string;
  /** Who signed the request (the anonymous principal when no users are configured). */
  readonly principal: Principal;
  /** The HTTP connection's id, as the core's connections know it. */
  readonly connectionId: string;
  readonly requestId: string;
  /** `http://host:port` as the client addressed the broker: queue URLs are built on it. */
  readonly baseUrl: string;
  /** Aborted when the client goes away (a long poll stops waiting). */
  readonly signal: AbortSignal;
}

export interface AwsService {
  /** The signing name (the credential scope's service) and the query protocol's Version. */
  readonly signingName: string;
  readonly model: ServiceModel;
  /** `X-Amz-Target: <prefix>.<Operation>` selects it over JSON; absent: query protocol only. */
  readonly jsonTargetPrefix?: string;
  /** The JSON protocol's content type and error namespace. */
  readonly jsonVersion?: '1.0' | '1.1';
  readonly jsonNamespace?: string;
  /** Operations a request may call unsigned even when users are configured (they carry their own proof). */
  readonly unsignedActions?: ReadonlySet<string>;
  handle(input: JsonObject, call: AwsCall): Promise<JsonObject | EventStreamOutput | undefined>;
}

/** One event of an event-stream answer: its type and its payload in the operation's JSON shape. */
export interface StreamedEvent {
  type: string;
  payload: JsonObject;
}

/** An answer that is a series of events (SubscribeToShard): written as they come, until the series ends or the client goes. */
export interface EventStreamOutput {
  readonly eventStream: AsyncIterable<StreamedEvent>;
}

export function isEventStream(o: unknown): o is EventStreamOutput {
  return o !== null && typeof o === 'object' && 'eventStream' in o;
}
