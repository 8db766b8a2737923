// MQTT topic names and filters <-> core topic names and patterns, the way ActiveMQ maps them:
// the level separator `/` becomes `.`, and a `.` inside a level becomes `/` (a swap, so every
// name maps back unchanged). `+` is `*`, `#` is `>`, empty levels stay empty (`a//b` is `a..b`).
// `$share/G/F` is a shared subscription named G on filter F.
import { validateName } from '../../src/core/destination.ts';
import { InvalidDestinationError } from '../../src/shared/errors.ts';

const SHARE_PREFIX = '$share/';

function swapSeparators(s: string, from: string, to: string): string {
  if (!s.includes(to)) return s.replaceAll(from, to);
  let out = '';
  for (const ch of s) out += ch === from ? to : ch === to ? from : ch;
  return out;
}

/**
 * Devices publish to the same topics over and over: converted names are kept, up to a bound,
 * so the hot path skips the swap and the validation.
 */
class NameCache<V = string> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}

  get(key: string, convert: (k: string) => V): V {
    let v = this.map.get(key);
    if (v === undefined) {
      v = convert(key);
      if (this.map.size >= this.max) this.map.clear();
      this.map.set(key, v);
    }
    return v;
  }
}

const toCore = new NameCache(10_000);
const fromCore = new NameCache(10_000);
const bytesFromCore = new NameCache<Buffer>(10_000);

/** The core topic an MQTT topic name publishes to. Throws InvalidDestinationError. */
export function topicToCore(mqttTopic: string): string {
  return toCore.get(mqttTopic, convertTopic);
}

function convertTopic(mqttTopic: string): string {
  if (mqttTopic.length === 0) throw new InvalidDestinationError('MQTT topic must not be empty', {});
  if (mqttTopic.includes('+') || mqttTopic.includes('#')) {
    throw new InvalidDestinationError(`Wildcards are not allowed in a PUBLISH topic: "${mqttTopic}"`, { topic: mqttTopic });
  }
  const name = swapSeparators(mqttTopic, '/', '.');
  for (const level of name.split('.')) {
    if (level === '*' || level === '>') {
      throw new InvalidDestinationError(
        `Topic level "${level}" is a wildcard in Junction's (and ActiveMQ's) topic names and cannot be published to: "${mqttTopic}"`,
        { topic: mqttTopic },
      );
    }
  }
  return validateName(name, false);
}

/** The MQTT topic name a core topic is delivered under. */
export function topicFromCore(coreTopic: string): string {
  return fromCore.get(coreTopic, mqttName);
}

/** topicFromCore's name as the UTF-8 bytes a PUBLISH carries. */
export function topicBytesFromCore(coreTopic: string): Buffer {
  return bytesFromCore.get(coreTopic, mqttNameBytes);
}

function mqttName(coreTopic: string): string {
  return swapSeparators(coreTopic, '.', '/');
}

function mqttNameBytes(coreTopic: string): Buffer {
  return Buffer.from(topicFromCore(coreTopic), 'utf8');
}

export interface MqttFilter {
  /** The filter as the client wrote it (with any $share prefix). */
  readonly raw: string;
  /** The core pattern. */
  readonly pattern: string;
  /** The share group, for `$share/G/F`. */
  readonly group?: string;
  /** True when the filter starts with a wildcard, which must not match `$` topics [MQTT-4.7.2-1]. */
  readonly leadingWildcard: boolean;
}

/** Parses an MQTT subscription filter. Throws InvalidDestinationError with a readable reason. */
export function filterToCore(raw: string): MqttFilter {
  let filter = raw;
  let group: string | undefined;
  if (raw.startsWith(SHARE_PREFIX)) {
    const rest = raw.slice(SHARE_PREFIX.length);
    const slash = rest.indexOf('/');
    group = slash < 0 ? rest : rest.slice(0, slash);
    filter = slash < 0 ? '' : rest.slice(slash + 1);
    if (group.length === 0 || group.includes('+') || group.includes('#')) {
      throw new InvalidDestinationError(`Shared subscription "${raw}" needs a group name without wildcards: $share/GROUP/FILTER`, {
        filter: raw,
      });
    }
    if (filter.length === 0) throw new InvalidDestinationError(`Shared subscription "${raw}" has no topic filter`, { filter: raw });
  }
  const levels = filter.split('/');
  const out: string[] = [];
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string;
    if (level === '#') {
      if (i !== levels.length - 1) throw new InvalidDestinationError(`"#" must be the last level of a filter: "${raw}"`, { filter: raw });
      out.push('>');
    } else if (level === '+') {
      out.push('*');
    } else if (level.includes('+') || level.includes('#')) {
      throw new InvalidDestinationError(`"+" and "#" must fill a whole level: "${raw}"`, { filter: raw });
    } else if (level.includes('*') || level.includes('>')) {
      throw new InvalidDestinationError(
        `"*" and ">" are wildcards in Junction's topic names and cannot appear in an MQTT filter: "${raw}"`,
        { filter: raw },
      );
    } else {
      out.push(swapSeparators(level, '/', '.'));
    }
  }
  const pattern = validateName(out.join('.'), true);
  const first = filter.charAt(0);
  const result: MqttFilter = { raw, pattern, leadingWildcard: first === '+' || first === '#' };
  return group === undefined ? result : { ...result, group };
}
