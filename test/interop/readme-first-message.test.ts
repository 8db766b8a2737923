// The README's "First message in a minute" as a new user runs it: each shell block there, with
// Debian's clients (mosquitto_pub/sub, stomp.py, qpid-proton), against a broker with every protocol;
// only the default ports are swapped for the test broker's. Each block must print what its
// "# prints:" comments say.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JunctionServer } from '../../src/server.ts';
import { startAllProtocols } from '../helpers/server.ts';

const run = promisify(execFile);

function section(): string {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('## First message in a minute');
  const end = readme.indexOf('\n## ', start + 1);
  if (start < 0) throw new Error('README.md has no "First message in a minute" section');
  return readme.slice(start, end < 0 ? undefined : end);
}

const blocks = [...section().matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);

let server: JunctionServer;
beforeAll(async () => {
  ({ server } = await startAllProtocols());
});
afterAll(async () => {
  await server?.stop();
});

/** The block with the default ports replaced by the test broker's. */
function onTestPorts(block: string): string {
  const port = (p: string): number => server.listeners.port(p, 'tcp') as number;
  return block
    .replace(/-p 1883\b/g, `-p ${port('mqtt')}`)
    .replace(/-P 61613\b/g, `-P ${port('stomp')}`)
    .replace(/localhost:5672\b/g, `localhost:${port('amqp')}`);
}

describe("the README's first messages", () => {
  it('has a block for MQTT, AMQP and STOMP', () => {
    expect(blocks.map((b) => /mosquitto|proton|stomp/.exec(b)?.[0])).toEqual(['mosquitto', 'proton', 'stomp']);
  });

  for (const [i, block] of blocks.entries()) {
    it(`block ${i + 1} prints what it says`, async () => {
      const expected = [...block.matchAll(/# prints: (.+)$/gm)].map((m) => (m[1] as string).trim());
      expect(expected.length).toBeGreaterThan(0);
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', onTestPorts(block)], { timeout: 15_000 });
      for (const line of expected) expect(stdout.split('\n')).toContain(line);
    });
  }
});
