// ActiveMQ destinations (ActiveMQQueue, ActiveMQTopic and the temporary kinds, by physical name)
// and the core destinations they stand for. A physical name may be a composite ("A,B", each part
// optionally "queue://X" or "topic://X"). A client names its temporary destinations itself (from its
// connection id); they live in the core as the queue TEMP.<name> and the topic TEMP.TOPIC.<name>, the
// names STOMP and AMQP give theirs, so a reply-to works across protocols.
import { validateName, type Destination } from '../../src/core/destination.ts';
import { OpenWireCommandError } from './errors.ts';
import type { Struct } from './layout-types.ts';

export const QUEUE = 100;
export const TOPIC = 101;
export const TEMP_QUEUE = 102;
export const TEMP_TOPIC = 103;

const TEMP_QUEUE_PREFIX = 'TEMP.';
const TEMP_TOPIC_PREFIX = 'TEMP.TOPIC.';

export interface WireDestination extends Struct {
  readonly physicalName: string | null;
}

export function isDestination(v: unknown): v is WireDestination {
  return typeof v === 'object' && v !== null && 'dataType' in v && [QUEUE, TOPIC, TEMP_QUEUE, TEMP_TOPIC].includes((v as Struct).dataType);
}

/** The core destinations a wire destination names (several for a composite). */
export function coreDestinations(d: WireDestination, forSubscribe: boolean): Destination[] {
  const name = d.physicalName;
  if (!name) throw new OpenWireCommandError('A destination needs a name', 'javax.jms.InvalidDestinationException');
  return name.split(',').map((part) => one(d.dataType, part.trim(), forSubscribe));
}

function one(type: number, part: string, forSubscribe: boolean): Destination {
  try {
    if (part.startsWith('queue://')) return { kind: 'queue', name: validateName(part.slice(8), false) };
    if (part.startsWith('topic://')) return { kind: 'topic', name: validateName(part.slice(8), forSubscribe) };
    switch (type) {
      case QUEUE:
        return { kind: 'queue', name: validateName(part, false) };
      case TOPIC:
        return { kind: 'topic', name: validateName(part, forSubscribe) };
      case TEMP_QUEUE:
        return { kind: 'queue', name: validateName(TEMP_QUEUE_PREFIX + part, false) };
      default:
        return { kind: 'topic', name: validateName(TEMP_TOPIC_PREFIX + part, false) };
    }
  } catch (err) {
    throw new OpenWireCommandError(err instanceof Error ? err.message : String(err), 'javax.jms.InvalidDestinationException');
  }
}

/** Wire destinations made before, by core address: the same object each time lets the codec's cache key it once. */
const made = new Map<string, WireDestination>();
const MADE_MAX = 10_000;

/** One core destination as the wire destination an OpenWire client knows it by. */
export function wireDestination(d: Destination): WireDestination {
  const key = `${d.kind}:${d.name}`;
  let w = made.get(key);
  if (!w) {
    if (made.size >= MADE_MAX) made.clear();
    w = makeWireDestination(d);
    made.set(key, w);
  }
  return w;
}

function makeWireDestination(d: Destination): WireDestination {
  if (d.kind === 'queue') {
    return d.name.startsWith(TEMP_QUEUE_PREFIX) && !d.name.startsWith(TEMP_TOPIC_PREFIX)
      ? { dataType: TEMP_QUEUE, physicalName: d.name.slice(TEMP_QUEUE_PREFIX.length) }
      : { dataType: QUEUE, physicalName: d.name };
  }
  return d.name.startsWith(TEMP_TOPIC_PREFIX)
    ? { dataType: TEMP_TOPIC, physicalName: d.name.slice(TEMP_TOPIC_PREFIX.length) }
    : { dataType: TOPIC, physicalName: d.name };
}

/** A core address (`queue://X`, `topic://X`, as reply-to travels) as a wire destination. */
export function wireDestinationOfAddress(address: string): WireDestination | null {
  const m = /^(queue|topic):\/\/(.+)$/.exec(address);
  if (m) return wireDestination({ kind: m[1] as 'queue' | 'topic', name: m[2] as string });
  return address === '' ? null : { dataType: QUEUE, physicalName: address };
}

/** A wire destination as a core address (reply-to); a composite keeps its text. */
export function addressOf(d: WireDestination): string {
  const [first] = coreDestinations(d, false);
  if (!first || (d.physicalName ?? '').includes(',')) return d.physicalName ?? '';
  return `${first.kind}://${first.name}`;
}

export function isTemporary(d: WireDestination): boolean {
  return d.dataType === TEMP_QUEUE || d.dataType === TEMP_TOPIC;
}
