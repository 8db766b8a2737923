// The `debug` package, as the libraries on the message path use it (mqtt-packet's parser, rhea,
// ioredis), costs even when no namespace is enabled: each call gathers its arguments into an array
// and asks whether its namespace is on, some 5% of the broker's CPU under MQTT load, with the
// garbage. Unless DEBUG is set (then the real package loads, for whoever wants its output), this
// puts a silent stand-in with the same interface into Node's module cache, before those libraries
// load, at every path they would load `debug` from. Imported first by the CLI.
import { createRequire, Module } from 'node:module';
import process from 'node:process';

/** A debug logger that never writes. */
interface Silent {
  (...args: unknown[]): void;
  enabled: boolean;
  namespace: string;
  log: (...args: unknown[]) => void;
  extend(sub: string, delimiter?: string): Silent;
  destroy(): boolean;
}

function silent(namespace: string): Silent {
  const d = (() => {}) as unknown as Silent;
  d.enabled = false;
  d.namespace = namespace;
  d.log = () => {};
  d.extend = (sub, delimiter = ':') => silent(namespace + delimiter + sub);
  d.destroy = () => false;
  return d;
}

const createDebug = Object.assign((namespace: string) => silent(namespace), {
  enable: () => {},
  disable: () => '',
  enabled: () => false,
  names: [] as RegExp[],
  skips: [] as RegExp[],
  formatters: {} as Record<string, unknown>,
  humanize: (ms: number) => `${ms}ms`,
  selectColor: () => 0,
  inspectOpts: {},
});
Object.assign(createDebug, { default: createDebug, debug: createDebug });

/** Libraries whose `debug` is replaced (each resolves its own copy, which may be shared). */
const USERS = ['mqtt-packet', 'rhea', 'ioredis', 'aedes'];

export function quietDebug(): void {
  if (process.env.DEBUG) return;
  const require = createRequire(import.meta.url);
  for (const lib of USERS) {
    let path: string;
    try {
      path = createRequire(require.resolve(lib)).resolve('debug');
    } catch {
      continue;
    }
    if (require.cache[path]) continue;
    const m = new Module(path);
    m.filename = path;
    m.loaded = true;
    m.exports = createDebug;
    require.cache[path] = m;
  }
}

quietDebug();
