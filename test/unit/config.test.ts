// Configuration: defaults with no file, the documented example, environment overrides, and errors
// that name the key and the allowed values.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, validateConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/shared/errors.ts';
import { DEFAULT_POLICY } from '../../src/core/policy.ts';

function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'junction-config-'));
  const f = join(dir, 'junction.yaml');
  writeFileSync(f, text);
  return f;
}

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('no configuration at all gives a working default', () => {
    const c = loadConfig(undefined, {});
    expect(c.ha).toEqual({ leaseMs: 5000, renewMs: 1000, checkMs: 150 });
    expect(c.store).toEqual({
      type: 'auto',
      redis: { minReplicasToAck: 0, replicaAckTimeoutMs: 1000 },
      embedded: { dataDir: './data/redis', binary: 'redis-server' },
    });
    expect(c.listeners.mqtt).toEqual({ enabled: true, port: 1883, tlsPort: 8883, tls: true });
    expect(c.listeners.amqp.port).toBe(5672);
    expect(c.listeners.stomp).toEqual({ enabled: true, port: 61613, tlsPort: 61614, tls: true });
    expect(c.listeners.websocket.port).toBe(61619);
    expect(c.admin.port).toBe(8161);
    expect(c.security.users).toEqual([]);
    expect(c.destinations.autoCreate).toBe(true);
  });

  it('the documented example is valid and equals the defaults', () => {
    const example = loadConfig(join(import.meta.dirname, '../../config/junction.example.yaml'), {});
    const defaults = loadConfig(undefined, {});
    expect(example).toEqual({ ...defaults, destinations: { ...defaults.destinations, defaults: example.destinations.defaults } });
    // Every policy default is written out in the example, with the value the code uses.
    expect(example.destinations.defaults).toEqual(DEFAULT_POLICY);
  });

  it('reads a YAML file', () => {
    const c = loadConfig(
      file(`
listeners:
  mqtt: { port: 11883 }
destinations:
  policies:
    - match: "queue://orders.>"
      maxMessages: 10
      overflow: reject
`),
      {},
    );
    expect(c.listeners.mqtt.port).toBe(11883);
    expect(c.listeners.mqtt.tlsPort).toBe(8883);
    expect(c.destinations.policies[0]).toMatchObject({ match: 'queue://orders.>', maxMessages: 10, overflow: 'reject' });
  });

  it('environment overrides win over the file, case-insensitively, typed', () => {
    const f = file('listeners:\n  mqtt:\n    port: 11883\n');
    const c = loadConfig(f, {
      JUNCTION_LISTENERS__MQTT__PORT: '21883',
      JUNCTION_LISTENERS__STOMP__TLS_PORT: '0',
      JUNCTION_LISTENERS__AMQP__TLS: 'false',
      JUNCTION_LOG__LEVEL: 'debug',
      JUNCTION_SECURITY__ALLOWANONYMOUS: 'false',
      JUNCTION_DESTINATIONS__QUEUES: '[a, b]',
      JUNCTION_CONFIG: '/ignored/path.yaml',
      OTHER: 'x',
    });
    expect(c.listeners.mqtt.port).toBe(21883);
    expect(c.listeners.stomp.tlsPort).toBe(0);
    expect(c.listeners.amqp.tls).toBe(false);
    expect(c.log.level).toBe('debug');
    expect(c.security.allowAnonymous).toBe(false);
    expect(c.destinations.queues).toEqual(['a', 'b']);
  });

  it('errors name the key and the allowed values', () => {
    expect(errorOf(() => validateConfig({ destinations: { defaults: { overflow: 'spill' } } }))).toMatch(
      /destinations\.defaults\.overflow: must be one of "block", "reject", "drop-oldest"/,
    );
    expect(errorOf(() => validateConfig({ listeners: { mqtt: { port: 70000 } } }))).toMatch(/listeners\.mqtt\.port: /);
    expect(errorOf(() => validateConfig({ listners: {} }))).toMatch(/\(top level\): unknown key "listners"/);
    expect(errorOf(() => validateConfig({ store: { type: 'postgres' } }))).toMatch(
      /store\.type: must be one of "auto", "memory", "redis", "embedded"/,
    );
    expect(errorOf(() => validateConfig({ store: { redis: { url: 'redis://a', nodes: [{ host: 'b', port: 1 }] } } }))).toMatch(
      /store\.redis: set one of url, sentinels or nodes/,
    );
    expect(errorOf(() => validateConfig({ store: { redis: { sentinels: [{ host: 's', port: 26379 }] } } }))).toMatch(
      /store\.redis: sentinels need the name of the primary/,
    );
    expect(errorOf(() => validateConfig({ security: { users: [{ username: 'a', passwordHash: 'plain' }] } }))).toMatch(
      /security\.users\.0\.passwordHash: must be a hash made by `junction hash-password`/,
    );
    expect(errorOf(() => validateConfig({ security: { authorization: [{ read: ['x'] }] } }))).toMatch(
      /security\.authorization\.0: each entry names exactly one of queue or topic/,
    );
    const entry = (topic: string): unknown => ({ security: { authorization: [{ topic, read: ['devices'] }] } });
    expect(errorOf(() => validateConfig(entry('>.%u')))).toMatch(
      /security\.authorization\.0\.topic: '>\.%u' '>' stands only as the whole last segment: .* reads everything below/,
    );
    expect(errorOf(() => validateConfig(entry('devices.%U.>')))).toMatch(/only %u \(the user\) and %c \(the client id\) are substituted/);
    expect(errorOf(() => validateConfig(entry('devices.%u*')))).toMatch(/mixes a substitution with a wildcard/);
    expect(errorOf(() => validateConfig(entry('devices.%u.#')))).toMatch(/'#' is MQTT's wildcard/);
    expect(errorOf(() => validateConfig(entry('devices..%u')))).toMatch(/has an empty segment/);
    expect(validateConfig(entry('devices.%u.>')).security.authorization[0]?.topic).toBe('devices.%u.>');
    expect(errorOf(() => validateConfig({ destinations: { policies: [{ match: 'orders' }] } }))).toMatch(
      /destinations\.policies\.0\.match: must look like queue:\/\/PATTERN or topic:\/\/PATTERN/,
    );
    expect(errorOf(() => loadConfig(file('a: [1, 2'), {}))).toMatch(/is not valid YAML/);
    expect(errorOf(() => loadConfig('/no/such/file.yaml', {}))).toMatch(/Cannot read config file/);
    expect(errorOf(() => loadConfig(undefined, { JUNCTION_LOG__LEVEL: 'loud' }))).toMatch(/log\.level: must be one of/);
  });
});
