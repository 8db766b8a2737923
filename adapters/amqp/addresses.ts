// AMQP addresses and the core destinations they name: `queue://X`, `topic://X`, RabbitMQ-style
// `/queue/X` and `/topic/X`, bare names (a queue, or a topic when the terminus carries Qpid JMS's
// `topic` capability), and Qpid JMS's temporary destinations.
import { formatAddress, validateName, type Destination } from '../../src/core/destination.ts';

export class AddressError extends Error {}

export function capabilitiesOf(terminus: { capabilities?: unknown } | undefined): string[] {
  const c = terminus?.capabilities;
  if (c === undefined || c === null) return [];
  return (Array.isArray(c) ? c : [c]).map((x) => String(x));
}

/** The destination an address names; `forSubscribe` allows wildcards in topic patterns. */
export function destinationOf(
  address: string,
  capabilities: string[],
  forSubscribe: boolean,
  bare: 'queue' | 'topic' = 'queue',
): Destination {
  const topicLike = capabilities.includes('topic') || capabilities.includes('temporary-topic');
  const queueLike = capabilities.includes('queue') || capabilities.includes('temporary-queue');
  let kind: 'queue' | 'topic' = topicLike ? 'topic' : queueLike ? 'queue' : bare;
  let name = address;
  for (const [prefix, k] of [
    ['queue://', 'queue'],
    ['topic://', 'topic'],
    ['/queue/', 'queue'],
    ['/topic/', 'topic'],
  ] as const) {
    if (address.startsWith(prefix)) {
      kind = k;
      name = address.slice(prefix.length);
      break;
    }
  }
  if (name === '') throw new AddressError(`Address "${address}" names no destination`);
  try {
    return { kind, name: validateName(name, forSubscribe && kind === 'topic') };
  } catch (err) {
    throw new AddressError((err as Error).message);
  }
}

/** How a core destination is written as an AMQP address (`to`, `reply-to`, a terminus). */
export function addressOf(d: Destination): string {
  return formatAddress(d);
}

/** The stream an address names (`stream://X` or `/stream/X`), if it names one. */
export function streamOf(address: string | undefined | null): string | undefined {
  if (!address) return undefined;
  for (const prefix of ['stream://', '/stream/']) {
    if (address.startsWith(prefix)) {
      const name = address.slice(prefix.length);
      if (name === '') throw new AddressError(`Address "${address}" names no stream`);
      return name;
    }
  }
  return undefined;
}
