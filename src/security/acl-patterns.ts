// Authorization patterns as Junction reads them: ActiveMQ's destination wildcards (`*` one segment,
// `>` the rest, zero or more) plus Mosquitto's pattern substitutions, `%u` for the username and
// `%c` for the client id (MQTT client id, STOMP client-id, AMQP container id), so one rule serves
// a whole fleet. Also: whether a pattern covers a subscription's filter whole, and whether the two
// share any topic at all.
import { ALL_SEGMENTS, ONE_SEGMENT, SEGMENT_SEPARATOR } from '../core/destination.ts';

/** Who a rule is read for. */
export interface Subject {
  readonly username: string;
  readonly clientId?: string | undefined;
}

/**
 * The pattern with `%u` and `%c` replaced; undefined when the rule cannot apply: the value is
 * missing, empty, or holds a separator or wildcard (`devices.%u.>` must not let user `a.b` into
 * user `a`'s subtree, nor user `*` into everyone's).
 */
export function expandPattern(pattern: string, who: Subject): string | undefined {
  if (!pattern.includes('%')) return pattern;
  let unusable = false;
  const out = pattern.replace(/%([uc])/g, (_m, key: string) => {
    const value = key === 'u' ? who.username : who.clientId;
    if (value === undefined || value === '' || /[.*>%]/.test(value)) unusable = true;
    return value ?? '';
  });
  return unusable ? undefined : out;
}

/** Whether every topic `filter` matches is matched by `pattern` (a name is a filter without wildcards). */
export function covers(pattern: string, filter: string): boolean {
  const p = pattern.split(SEGMENT_SEPARATOR);
  const f = filter.split(SEGMENT_SEPARATOR);
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ALL_SEGMENTS) return true;
    if (i >= f.length) return false;
    // The filter takes any rest from here; a name has one segment at least, so at the start `*.>` takes it too.
    if (f[i] === ALL_SEGMENTS) return i === 0 && p.length === 2 && p[0] === ONE_SEGMENT && p[1] === ALL_SEGMENTS;
    if (p[i] !== ONE_SEGMENT && p[i] !== f[i]) return false;
  }
  return p.length === f.length;
}

/** Whether some topic is matched by both `a` and `b`. */
export function overlaps(a: string, b: string): boolean {
  return overlapFrom(a.split(SEGMENT_SEPARATOR), 0, b.split(SEGMENT_SEPARATOR), 0);
}

function overlapFrom(a: readonly string[], i: number, b: readonly string[], j: number): boolean {
  for (;;) {
    if (a[i] === ALL_SEGMENTS || b[j] === ALL_SEGMENTS) return true;
    if (i === a.length || j === b.length) return i === a.length && j === b.length;
    if (a[i] !== ONE_SEGMENT && b[j] !== ONE_SEGMENT && a[i] !== b[j]) return false;
    i++;
    j++;
  }
}

/**
 * Why an authorization entry's name would not do what it says, or undefined when it is sound:
 * a `>` before the end (`>.%u` reads everything whatever `%u` is), a substitution other than `%u`
 * and `%c` (a typo would turn it into text that protects nothing), one that shares its segment
 * with a wildcard, an empty segment, or MQTT's `#` and `+` where the broker's names use `>` and `*`.
 */
export function patternProblem(pattern: string): string | undefined {
  const segments = pattern.split(SEGMENT_SEPARATOR);
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i] as string;
    if (s === '') return 'has an empty segment (two dots, or a dot at an end)';
    if (s.includes(ALL_SEGMENTS) && (s !== ALL_SEGMENTS || i !== segments.length - 1)) {
      return `'${ALL_SEGMENTS}' stands only as the whole last segment: anything after it is ignored and the entry reads everything below`;
    }
    if (s === '#' || s === '+')
      return `'${s}' is MQTT's wildcard: broker names use '${ALL_SEGMENTS}' (the rest) and '${ONE_SEGMENT}' (one segment)`;
    const unknown = /%(?![uc])/.exec(s);
    if (unknown) return `only %u (the user) and %c (the client id) are substituted; '${s}' holds another '%'`;
    if (s.includes('%') && s.includes(ONE_SEGMENT)) return `'${s}' mixes a substitution with a wildcard`;
  }
  return undefined;
}
