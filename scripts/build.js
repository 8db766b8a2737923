#!/usr/bin/env node
// Compiles the broker to JavaScript for production images (`npm run build`; the Dockerfile runs the
// result with plain node, no TypeScript loader): tsc with tsconfig.build.json into `dist/` (or the
// directory given as the first argument), then the files the compiled code reads at run time: the
// Redis Lua scripts, the web console's static files and package.json (the CLI's version).
import { execFileSync } from 'node:child_process';
import process from 'node:process';
import { cpSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const root = join(import.meta.dirname, '..');
const out = resolve(process.argv[2] ?? join(root, 'dist'));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', out], { stdio: 'inherit' });
for (const assets of ['src/store/redis/lua', 'src/admin/console']) {
  mkdirSync(dirname(join(out, assets)), { recursive: true });
  cpSync(join(root, assets), join(out, assets), { recursive: true });
}
cpSync(join(root, 'package.json'), join(out, 'package.json'));
