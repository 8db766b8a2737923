// Access keys of the AWS APIs named in the configuration (security.users[].accessKeys), their
// secrets read at start from an environment variable or a file. A secret that cannot be read stops
// the start, naming the key id and where it was looked for, never the secret.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../shared/errors.ts';

export interface AccessKeySource {
  id: string;
  secretEnv?: string | undefined;
  secretFile?: string | undefined;
}

export interface AccessKey {
  id: string;
  secret: string;
  createdAt: number;
}

export function loadAccessKeys(username: string, sources: readonly AccessKeySource[], env: NodeJS.ProcessEnv = process.env): AccessKey[] {
  return sources.map((k) => {
    let secret: string | undefined;
    let where: string;
    if (k.secretFile !== undefined) {
      where = `file ${k.secretFile}`;
      try {
        secret = readFileSync(k.secretFile, 'utf8').trim();
      } catch (err) {
        throw new ConfigError(
          `access key ${k.id} of user ${username}: cannot read ${where}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
          {
            key: k.id,
          },
        );
      }
    } else {
      where = `environment variable ${k.secretEnv ?? ''}`;
      secret = env[k.secretEnv ?? '']?.trim();
    }
    if (secret === undefined || secret === '')
      throw new ConfigError(`access key ${k.id} of user ${username}: ${where} is empty or not set`, { key: k.id });
    return { id: k.id, secret, createdAt: 0 };
  });
}
