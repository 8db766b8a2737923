// Before any test: dist/ is built when the sources are newer than it, as bin/junction.js would do
// inside the first test that runs the `junction` command (and under that test's deadline, which a
// loaded machine can miss). Tests that run the command then start a compiled CLI in well under a second.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  execFileSync(process.execPath, [join(import.meta.dirname, '../bin/junction.js'), '--version'], { stdio: 'ignore', timeout: 300_000 });
}
