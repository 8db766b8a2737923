#!/usr/bin/env node
// Compiles the broker to JavaScript for production images (`npm run build`; the Dockerfile runs the
// result with plain node, no TypeScript loader): tsc with tsconfig.build.json into `dist/` (or the
// directory given as the first argument), then the files the compiled code reads at run time: the
// Redis Lua scripts, the web console's static files and package.json (the CLI's version). Last, a
// stamp (`.built`, dated when the build began) that bin/junction.js compares with the sources.
// `--if-sources` (npm's prepare step) builds only where the sources and TypeScript are present,
// so an install without them (a production image's `npm ci --omit=dev`) does not fail.
import { execFileSync } from 'node:child_process';
import process from 'node:process';
import { cpSync, existsSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
const ifSources = args.includes('--if-sources');
const out = resolve(args.find((a) => !a.startsWith('--')) ?? join(root, 'dist'));
const require = createRequire(import.meta.url);
let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch (err) {
  if (!ifSources) throw err;
}
if (ifSources && (!tsc || !existsSync(join(root, 'src')))) {
  process.stdout.write('build skipped: no sources or no TypeScript here\n');
  process.exit(0);
}
const began = new Date();
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', out], { stdio: 'inherit' });
for (const assets of ['src/store/redis/lua', 'src/admin/console']) {
  // Afresh: a Lua script removed from the sources must not linger (the store refuses an unknown one).
  rmSync(join(out, assets), { recursive: true, force: true });
  mkdirSync(dirname(join(out, assets)), { recursive: true });
  cpSync(join(root, assets), join(out, assets), { recursive: true });
}
cpSync(join(root, 'package.json'), join(out, 'package.json'));
const stamp = join(out, '.built');
writeFileSync(stamp, `${began.toISOString()}\n`);
utimesSync(stamp, began, began);
