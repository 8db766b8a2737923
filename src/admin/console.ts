// Serves the web console (/console): three static files from ./console/ and uPlot (charts) from
// node_modules, so nothing is fetched from the internet at run time. The console reads and changes
// everything through the admin API, signing in with the broker's users.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';

const DIR = join(import.meta.dirname, 'console');
const UPLOT = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));

const FILES: Record<string, { file: string; type: string }> = {
  '': { file: join(DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  'app.js': { file: join(DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  'app.css': { file: join(DIR, 'app.css'), type: 'text/css; charset=utf-8' },
  'uplot.js': { file: join(UPLOT, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'uplot.css': { file: join(UPLOT, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

export function serveConsole(app: FastifyInstance): void {
  const cache = new Map<string, Buffer>();
  const load = (name: string): { body: Buffer; type: string } => {
    const f = FILES[name] as { file: string; type: string };
    let body = cache.get(name);
    if (!body) cache.set(name, (body = readFileSync(f.file)));
    return { body, type: f.type };
  };
  app.get('/console', async (_req, reply) => reply.redirect('/console/'));
  app.get('/console/', async (_req, reply) => {
    const { body, type } = load('');
    return reply.type(type).header('cache-control', 'no-cache').send(body);
  });
  for (const name of Object.keys(FILES).filter((n) => n !== '')) {
    app.get(`/console/${name}`, async (_req, reply) => {
      const { body, type } = load(name);
      return reply.type(type).header('cache-control', 'no-cache').send(body);
    });
  }
}
