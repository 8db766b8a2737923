// STOMP destination names as ActiveMQ spells them, and the core destinations they stand for:
// /queue/X, /topic/X, /temp-queue/X and /temp-topic/X (scoped to the connection that uses them),
// /remote-temp-queue/X and /remote-temp-topic/X (another connection's temporary destination, as
// they appear in reply-to), comma-separated composites; a name with no prefix is a queue.
import { randomUUID } from 'node:crypto';
import { formatAddress, validateName, type Destination } from '../../src/core/destination.ts';
import { StompProtocolError } from './frame.ts';

const TEMP_TOPIC_PREFIX = 'TEMP.TOPIC.';

/** The temporary destinations one connection has named, created on first use. */
export class TemporaryDestinations {
  private readonly queues = new Map<string, Destination>();
  private readonly topics = new Map<string, Destination>();

  constructor(private readonly createQueue: () => Destination) {}

  queue(label: string): Destination {
    let d = this.queues.get(label);
    if (!d) {
      d = this.createQueue();
      this.queues.set(label, d);
    }
    return d;
  }

  topic(label: string): Destination {
    let d = this.topics.get(label);
    if (!d) {
      d = { kind: 'topic', name: `${TEMP_TOPIC_PREFIX}${randomUUID()}` };
      this.topics.set(label, d);
    }
    return d;
  }
}

/** One STOMP destination (no commas); wildcards allowed for subscriptions to topics. */
export function parseDestination(text: string, temps: TemporaryDestinations, forSubscribe: boolean): Destination {
  const d = text.trim();
  const after = (prefix: string): string => {
    const name = d.slice(prefix.length);
    if (name === '') throw new StompProtocolError(`Destination "${d}" has no name after ${prefix}`);
    return name;
  };
  if (d.startsWith('/queue/')) return { kind: 'queue', name: validateName(after('/queue/'), false) };
  if (d.startsWith('/topic/')) return { kind: 'topic', name: validateName(after('/topic/'), forSubscribe) };
  if (d.startsWith('/temp-queue/')) return temps.queue(after('/temp-queue/'));
  if (d.startsWith('/temp-topic/')) return temps.topic(after('/temp-topic/'));
  if (d.startsWith('/remote-temp-queue/')) return { kind: 'queue', name: validateName(after('/remote-temp-queue/'), false) };
  if (d.startsWith('/remote-temp-topic/')) return { kind: 'topic', name: validateName(after('/remote-temp-topic/'), false) };
  if (d === '') throw new StompProtocolError('Empty destination');
  if (d.startsWith('/')) {
    throw new StompProtocolError(
      `Unknown destination type in "${d.slice(0, 100)}"`,
      'Use /queue/NAME, /topic/NAME, /temp-queue/NAME or /temp-topic/NAME.',
    );
  }
  return { kind: 'queue', name: validateName(d, false) };
}

/** A destination header: one name or a comma-separated composite. */
export function parseDestinations(text: string, temps: TemporaryDestinations, forSubscribe: boolean): Destination[] {
  return text.split(',').map((part) => parseDestination(part, temps, forSubscribe));
}

/** How a core destination is written in a MESSAGE's `destination` or `reply-to` header. */
export function formatDestination(d: Destination, isTemporaryQueue: (name: string) => boolean): string {
  if (d.kind === 'queue') return isTemporaryQueue(d.name) ? `/remote-temp-queue/${d.name}` : `/queue/${d.name}`;
  return d.name.startsWith(TEMP_TOPIC_PREFIX) ? `/remote-temp-topic/${d.name}` : `/topic/${d.name}`;
}

/** reply-to travels in the core as an address (`queue://X`), so other protocols can use it. */
export function replyToAddress(text: string, temps: TemporaryDestinations): string {
  try {
    return formatAddress(parseDestination(text, temps, false));
  } catch {
    return text; // not a destination we know: carried as the client wrote it
  }
}

export function replyToHeader(address: string, isTemporaryQueue: (name: string) => boolean): string {
  const m = /^(queue|topic):\/\/(.+)$/.exec(address);
  if (!m) return address;
  return formatDestination({ kind: m[1] as 'queue' | 'topic', name: m[2] as string }, isTemporaryQueue);
}
