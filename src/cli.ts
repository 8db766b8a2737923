#!/usr/bin/env node
// The `junction` command: start the broker; show a running broker's role and operate it through its
// admin API (queues, dlq, connections: cli/admin-commands.ts); check a configuration file; hash a
// password.
// First: before any library loads `debug` (quiet-debug.ts says why).
import './shared/quiet-debug.ts';
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { loadConfig } from './config/load.ts';
import { FencedError, JunctionError } from './shared/errors.ts';
import { createLogger } from './log.ts';
import { loadAccessKeys } from './security/access-keys.ts';
import { s3Credentials } from './firehose/config.ts';
import { loadSealer } from './security/keyring.ts';
import { hashPassword } from './security/password.ts';
import { adminTarget } from './cli/admin-client.ts';
import { readPassword } from './cli/read-password.ts';
import { addAdminCommands } from './cli/admin-commands.ts';
import { formatStatus, type BrokerHealth } from './cli/status.ts';
import type { JunctionServer } from './server.ts';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

function fail(err: unknown): never {
  const msg = err instanceof JunctionError || err instanceof Error ? err.message : String(err);
  process.stderr.write(`junction: ${msg}\n`);
  process.exit(1);
}

const program = new Command()
  .name('junction')
  .description('Junction: a multi-protocol message broker (MQTT, AMQP 1.0, STOMP)')
  .version(pkg.version, '-v, --version');

program
  .command('start')
  .description('run the broker')
  .option('-c, --config <file>', 'YAML configuration file (default: $JUNCTION_CONFIG, else built-in defaults)')
  .action(async (opts: { config?: string }) => {
    let config;
    try {
      config = loadConfig(opts.config ?? process.env.JUNCTION_CONFIG);
    } catch (err) {
      fail(err);
    }
    const log = createLogger(config.log.level, undefined, config.log.format);
    // The signal handlers come first: a Ctrl-C while the broker starts (or just as it says it is
    // running) stops it once it has started, instead of killing it with its Redis left behind.
    let server: JunctionServer | undefined;
    let stopRequested = false;
    const stop = (s: JunctionServer): void => {
      s.stop().then(
        () => {
          log.flush();
          process.exit(0);
        },
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          log.flush();
          process.exit(1);
        },
      );
    };
    let signals = 0;
    const shutdown = (signal: string): void => {
      if (++signals > 1) {
        log.warn({ signal }, 'second signal: exiting at once');
        log.flush();
        process.exit(1);
      }
      log.info({ signal }, 'shutdown requested');
      stopRequested = true;
      if (server) stop(server);
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    try {
      // Loaded here, so the operator's commands do not load the whole broker.
      const { JunctionServer } = await import('./server.ts');
      server = await JunctionServer.start(config, { log });
    } catch (err) {
      log.fatal({ err }, 'broker failed to start');
      log.flush();
      fail(err);
    }
    const running = server;
    if (stopRequested) stop(running);
    // A fenced write that escaped its caller steps the broker down like any other; anything else
    // unhandled ends the process as Node would (a standby takes over).
    process.on('unhandledRejection', (err) => {
      if (err instanceof FencedError) {
        running.fence('a store write was fenced', err);
        return;
      }
      log.fatal({ err }, 'unhandled rejection: exiting');
      log.flush();
      process.exit(1);
    });
  });

program
  .command('status')
  .description("show a running broker's role, epoch and the lease holder, through its admin port")
  .option('-u, --url <url>', 'admin address (default: $JUNCTION_ADMIN_URL, else http://127.0.0.1:8161)')
  .option('--user <name>', 'admin user, when /health is not open (default: $JUNCTION_ADMIN_USER)')
  .option('--password <password>', 'its password (default: $JUNCTION_ADMIN_PASSWORD)')
  .option('--json', 'print the health document as JSON')
  .action(async (opts: { url?: string; user?: string; password?: string; json?: boolean }) => {
    const target = adminTarget(opts);
    const base = target.url;
    let health: BrokerHealth;
    try {
      const headers: Record<string, string> = {};
      if (target.user !== undefined)
        headers.authorization = `Basic ${Buffer.from(`${target.user}:${target.password ?? ''}`).toString('base64')}`;
      const res = await fetch(`${base}/health`, { headers, signal: AbortSignal.timeout(5000) });
      if (res.status === 401) fail(`the broker at ${base} needs admin credentials for /health: --user and --password`);
      health = (await res.json()) as BrokerHealth;
    } catch (err) {
      fail(`cannot reach the broker's admin port at ${base}: ${(err as Error).cause ?? (err as Error).message}`);
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(health)}\n`);
      return;
    }
    process.stdout.write(formatStatus(base, health));
  });

addAdminCommands(program, fail);

program
  .command('check-config')
  .description('validate a configuration file and print what it resolves to')
  .argument('<file>', 'YAML configuration file')
  .action((file: string) => {
    try {
      const config = loadConfig(file);
      // The keyring's and the access keys' files and variables are read as a start would read them.
      const sealer = loadSealer(config.security.encryption?.keys);
      const accessKeys = config.security.users.reduce((n, u) => n + loadAccessKeys(u.username, u.accessKeys).length, 0);
      s3Credentials(config.firehose);
      const users = config.security.users.length;
      const streams = config.firehose.deliveryStreams.length;
      process.stdout.write(
        `${file}: valid (store ${config.store.type}, ${users} user${users === 1 ? '' : 's'}, ` +
          `${config.destinations.policies.length} destination polic${config.destinations.policies.length === 1 ? 'y' : 'ies'}` +
          `${accessKeys > 0 ? `, ${accessKeys} access key${accessKeys === 1 ? '' : 's'}` : ''}` +
          `${streams > 0 ? `, ${streams} delivery stream${streams === 1 ? '' : 's'}` : ''}` +
          `${sealer ? `, encryption at rest with key ${sealer.active.id} of ${sealer.keyIds.length}` : ''})\n`,
      );
    } catch (err) {
      fail(err);
    }
  });

program
  .command('hash-password')
  .description('read a password (prompt, or standard input) and print its hash for security.users[].passwordHash')
  .action(async () => {
    const password = await readPassword();
    if (password.length === 0) fail('empty password');
    process.stdout.write(`${await hashPassword(password)}\n`);
  });

program.parseAsync(process.argv).catch(fail);
