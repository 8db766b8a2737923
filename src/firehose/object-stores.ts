// Where delivered objects go: an S3-compatible object store (AWS's own client, @aws-sdk/client-s3,
// loaded only when a broker delivers to one), or a directory standing in for S3, bucket B's object
// K being the file <directory>/B/K. A file is written under a temporary name, synced, then renamed,
// so a reader never sees half an object; an S3 object is one PUT, whole or not at all.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';

export interface ObjectStore {
  /** Writes one object whole; rejects (with the cause) when it is not there. */
  put(bucket: string, key: string, body: Buffer, contentType: string): Promise<void>;
  /** Whether an object is there whole; rejects when that cannot be told. */
  exists(bucket: string, key: string): Promise<boolean>;
  /** For logs and the admin API. */
  readonly description: string;
  close(): void;
}

export class DirectoryStore implements ObjectStore {
  readonly description: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.description = `directory ${this.root}`;
  }

  private pathOf(bucket: string, key: string): string {
    const path = resolve(this.root, bucket, key);
    if (!path.startsWith(join(this.root, bucket) + sep)) throw new Error(`object key "${key}" leaves the bucket's directory`);
    return path;
  }

  async exists(bucket: string, key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(bucket, key))).isFile();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async put(bucket: string, key: string, body: Buffer): Promise<void> {
    const path = this.pathOf(bucket, key);
    await mkdir(dirname(path), { recursive: true });
    const temp = join(dirname(path), `.${randomBytes(6).toString('hex')}.firehose-tmp`);
    try {
      const file = await open(temp, 'wx');
      try {
        await file.writeFile(body);
        await file.datasync();
      } finally {
        await file.close();
      }
      await rename(temp, path);
    } catch (err) {
      await rm(temp, { force: true }).catch(() => {});
      throw err;
    }
  }

  close(): void {}
}

export interface S3Settings {
  endpoint?: string | undefined;
  region: string;
  forcePathStyle: boolean;
  /** Absent: the AWS SDK's default credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
}

export class S3Store implements ObjectStore {
  readonly description: string;
  private client: Promise<S3Client> | undefined;

  constructor(private readonly settings: S3Settings) {
    this.description = `S3 ${settings.endpoint ?? `region ${settings.region}`}`;
  }

  private s3(): Promise<S3Client> {
    this.client ??= import('@aws-sdk/client-s3').then((m) => {
      const s = this.settings;
      return new m.S3Client({
        region: s.region,
        forcePathStyle: s.forcePathStyle,
        maxAttempts: 1,
        ...(s.endpoint !== undefined ? { endpoint: s.endpoint } : {}),
        ...(s.credentials ? { credentials: s.credentials } : {}),
      });
    });
    return this.client;
  }

  async put(bucket: string, key: string, body: Buffer, contentType: string): Promise<void> {
    const [client, { PutObjectCommand }] = await Promise.all([this.s3(), import('@aws-sdk/client-s3')]);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length, ContentType: contentType }));
  }

  async exists(bucket: string, key: string): Promise<boolean> {
    const [client, { HeadObjectCommand, NotFound }] = await Promise.all([this.s3(), import('@aws-sdk/client-s3')]);
    try {
      await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (err) {
      if (err instanceof NotFound || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
      throw err;
    }
  }

  close(): void {
    void this.client?.then((c) => c.destroy()).catch(() => {});
  }
}
