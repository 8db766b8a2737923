#!/usr/bin/env node
// Entry point of the `junction` command: runs the compiled broker in dist/ with plain node, as the
// Docker image does (no TypeScript loader, so start-up is quick and a signal reaches the broker
// once). `npm ci` builds dist/ (the prepare script); in a checkout where a source file is newer
// than the last build, it is built again here first, under a lock so that brokers started
// together build it once. `npm run dev` runs the sources through tsx instead.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import process from 'node:process';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');
const stamp = join(dist, '.built');
const lock = join(root, '.dist-lock');
const SOURCES = ['src', 'adapters', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];
const LOCK_STALE_MS = 180_000;

/** The newest modification time under the sources, in ms (0 when there are none: an installed package). */
function newestSource() {
  let newest = 0;
  const visit = (path) => {
    let st;
    try {
      st = statSync(path);
    } catch {
      return;
    }
    if (st.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
    else newest = Math.max(newest, st.mtimeMs);
  };
  if (!existsSync(join(root, 'src'))) return 0;
  for (const s of SOURCES) visit(join(root, s));
  return newest;
}

function builtAt() {
  try {
    return statSync(stamp).mtimeMs;
  } catch {
    return -1;
  }
}

const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function buildIfStale() {
  const sources = newestSource();
  if (builtAt() >= sources && existsSync(join(dist, 'src/cli.js'))) return;
  const deadline = Date.now() + LOCK_STALE_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      let age;
      try {
        age = Date.now() - statSync(lock).mtimeMs;
      } catch {
        continue;
      }
      if (age > LOCK_STALE_MS || Date.now() > deadline) rmSync(lock, { recursive: true, force: true });
      else pause(200);
      if (builtAt() >= sources) return;
    }
  }
  try {
    if (builtAt() >= sources && existsSync(join(dist, 'src/cli.js'))) return;
    process.stderr.write('junction: compiling the broker into dist/ (the sources changed since the last build)\n');
    execFileSync(process.execPath, [join(root, 'scripts/build.js')], { stdio: ['ignore', 'ignore', 'inherit'] });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

buildIfStale();
await import('../dist/src/cli.js');
