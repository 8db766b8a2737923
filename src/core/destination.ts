// Destination names: the two kinds (queue, topic), ActiveMQ-style dotted names, the canonical
// `queue://NAME` / `topic://NAME` address form, and the rules for wildcard patterns (`*` one
// segment, `>` the rest). Protocol prefixes (STOMP `/queue/`, MQTT `/`) are the adapters' business.
import { InvalidDestinationError } from '../shared/errors.ts';

export type DestinationKind = 'queue' | 'topic';

export interface Destination {
  readonly kind: DestinationKind;
  readonly name: string;
}

export const MAX_NAME_LENGTH = 1024;
export const SEGMENT_SEPARATOR = '.';
export const ONE_SEGMENT = '*';
export const ALL_SEGMENTS = '>';

export function queue(name: string): Destination {
  return { kind: 'queue', name: validateName(name, false) };
}

export function topic(name: string): Destination {
  return { kind: 'topic', name: validateName(name, false) };
}

export function formatAddress(d: Destination): string {
  return `${d.kind}://${d.name}`;
}

/** Parses `queue://X` or `topic://X`; a bare name is a queue. */
export function parseAddress(address: string): Destination {
  if (address.startsWith('queue://')) return queue(address.slice(8));
  if (address.startsWith('topic://')) return topic(address.slice(8));
  if (address.includes('://')) {
    throw new InvalidDestinationError(`Unknown destination kind in "${address}": use queue:// or topic://`, { address });
  }
  return queue(address);
}

export function sameDestination(a: Destination, b: Destination): boolean {
  return a.kind === b.kind && a.name === b.name;
}

/**
 * Checks a name. Segments may be empty (MQTT topics such as `a//b` map to `a..b`); `*` and `>`
 * are wildcards only as whole segments, `>` only as the last one, and only where allowed.
 */
export function validateName(name: string, allowWildcards: boolean): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidDestinationError('Destination name must not be empty', { name });
  }
  if (name.length > MAX_NAME_LENGTH) {
    throw new InvalidDestinationError(`Destination name is longer than ${MAX_NAME_LENGTH} characters`, {
      name: name.slice(0, 64),
    });
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) {
    throw new InvalidDestinationError('Destination name must not contain control characters', { name });
  }
  const segments = name.split(SEGMENT_SEPARATOR);
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i] as string;
    const isWild = s === ONE_SEGMENT || s === ALL_SEGMENTS;
    if (isWild && !allowWildcards) {
      throw new InvalidDestinationError(`Wildcard "${s}" is only allowed in subscriptions: "${name}"`, { name });
    }
    if (!isWild && (s.includes(ONE_SEGMENT) || s.includes(ALL_SEGMENTS)) && allowWildcards) {
      throw new InvalidDestinationError(`Wildcards "*" and ">" must fill a whole segment: "${name}"`, { name });
    }
    if (s === ALL_SEGMENTS && i !== segments.length - 1) {
      throw new InvalidDestinationError(`">" must be the last segment: "${name}"`, { name });
    }
  }
  return name;
}

export function hasWildcard(pattern: string): boolean {
  return pattern.split(SEGMENT_SEPARATOR).some((s) => s === ONE_SEGMENT || s === ALL_SEGMENTS);
}

/** True when `pattern` (may hold wildcards) matches the concrete `name`. */
export function matches(pattern: string, name: string): boolean {
  const p = pattern.split(SEGMENT_SEPARATOR);
  const n = name.split(SEGMENT_SEPARATOR);
  for (let i = 0; i < p.length; i++) {
    const seg = p[i];
    if (seg === ALL_SEGMENTS) return true;
    if (i >= n.length) return false;
    if (seg !== ONE_SEGMENT && seg !== n[i]) return false;
  }
  return p.length === n.length;
}
