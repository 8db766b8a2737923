// Reading what delivery streams wrote: the objects under a bucket of a `firehose.directory` (the
// files a reader sees: no temporary ones), their bodies gunzipped when named `.gz`, and a bounded
// wait for records to arrive (the directory is polled: a file system gives no event to await here).
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';

export interface DeliveredObject {
  key: string;
  body: Buffer;
}

export async function readBucket(directory: string, bucket: string): Promise<DeliveredObject[]> {
  const root = join(directory, bucket);
  if (!existsSync(root)) return [];
  const out: DeliveredObject[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.endsWith('.firehose-tmp')) continue;
    const path = join(entry.parentPath, entry.name);
    const raw = await readFile(path);
    out.push({ key: relative(root, path), body: entry.name.endsWith('.gz') ? gunzipSync(raw) : raw });
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

/** Waits until `done` holds for the bucket's objects (at most `timeoutMs`), and answers them. */
export async function waitForObjects(
  directory: string,
  bucket: string,
  done: (objects: DeliveredObject[]) => boolean,
  timeoutMs = 10_000,
): Promise<DeliveredObject[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const objects = await readBucket(directory, bucket);
    if (done(objects)) return objects;
    if (Date.now() > deadline)
      throw new Error(
        `bucket ${bucket} did not get what was expected in ${String(timeoutMs)} ms: ${JSON.stringify(objects.map((o) => o.key))}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Newline-delimited records of objects, in key order. */
export function lines(objects: readonly DeliveredObject[]): string[] {
  return objects.flatMap((o) =>
    o.body
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== ''),
  );
}
