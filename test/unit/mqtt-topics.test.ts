// MQTT topic and filter mapping onto core names: the examples users rely on, and properties over
// generated topics (every publishable topic maps back unchanged; a filter matches exactly the
// topics MQTT's own rules say it matches).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matches } from '../../src/core/destination.ts';
import { InvalidDestinationError } from '../../src/shared/errors.ts';
import { filterToCore, topicFromCore, topicToCore } from '../../adapters/mqtt/topics.ts';

/** MQTT's matching rules, written independently of the core's. */
function mqttMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

const level = fc.stringMatching(/^[a-z.0-9-]{0,4}$/);
const topicArb = fc
  .array(level, { minLength: 1, maxLength: 5 })
  .map((ls) => ls.join('/'))
  .filter((t) => t.length > 0);
const filterArb = fc
  .array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 5 })
  .chain((ls) => fc.boolean().map((hash) => (hash ? [...ls, '#'] : ls).join('/')))
  .filter((f) => f.length > 0);

describe('MQTT topic mapping', () => {
  it('maps levels to segments and swaps dots and slashes, as ActiveMQ does', () => {
    expect(topicToCore('a/b/c')).toBe('a.b.c');
    expect(topicToCore('site/v1.2/temp')).toBe('site.v1/2.temp');
    expect(topicToCore('a//b')).toBe('a..b');
    expect(topicToCore('/lead')).toBe('.lead');
    expect(topicFromCore('orders.eu/west')).toBe('orders/eu.west');
  });

  it('maps filters: + to *, # to >, $share/G/F to group G', () => {
    expect(filterToCore('home/+/temp')).toMatchObject({ pattern: 'home.*.temp', leadingWildcard: false });
    expect(filterToCore('#')).toMatchObject({ pattern: '>', leadingWildcard: true });
    expect(filterToCore('$share/workers/jobs/#')).toMatchObject({ pattern: 'jobs.>', group: 'workers' });
  });

  it('refuses what has no core name, with a readable reason', () => {
    for (const bad of ['a/*/b', 'x/>', 'a/+b', 'a/#/b', '$share//x', '$share/g']) {
      expect(() => filterToCore(bad), bad).toThrow(InvalidDestinationError);
    }
    for (const bad of ['a/+', 'a/#', 'a/*', '>', '']) expect(() => topicToCore(bad), bad).toThrow(InvalidDestinationError);
  });

  it('every publishable topic maps back unchanged', () => {
    fc.assert(
      fc.property(topicArb, (t) => topicFromCore(topicToCore(t)) === t),
      { numRuns: 500 },
    );
  });

  it('a filter matches a topic in the core exactly when MQTT says it does', () => {
    fc.assert(
      fc.property(filterArb, topicArb, (f, t) => {
        const filter = filterToCore(f);
        const core = matches(filter.pattern, topicToCore(t)) && !(filter.leadingWildcard && t.startsWith('$'));
        expect(core).toBe(mqttMatches(f, t));
      }),
      { numRuns: 2000 },
    );
  });
});
