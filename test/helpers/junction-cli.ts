// The `junction` command as a user runs it (bin/junction.js in its own process): standard input
// given (a piped password), standard output and error collected, killed past its deadline.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const JUNCTION_BIN = join(import.meta.dirname, '../../bin/junction.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runJunction(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [JUNCTION_BIN, ...args], { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`junction ${args.join(' ')} did not finish`));
    }, opts.timeoutMs ?? 20_000);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    p.stdin.end(opts.input ?? '');
  });
}
