// SQS names as AWS writes them: queue names and their rules, queue URLs (built on the address the
// client used, read back by their last path segment) and ARNs.

export const FIFO_SUFFIX = '.fifo';

/** Why `name` cannot be an SQS queue name, or undefined when it can. */
export function queueNameProblem(name: string, fifo: boolean): string | undefined {
  const base = name.endsWith(FIFO_SUFFIX) ? name.slice(0, -FIFO_SUFFIX.length) : name;
  if (name.endsWith(FIFO_SUFFIX) !== fifo) {
    return fifo
      ? 'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.'
      : `Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length`;
  }
  if (name.length < 1 || name.length > 80 || !/^[A-Za-z0-9_-]+$/.test(base)) {
    return 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length';
  }
  return undefined;
}

export function queueUrl(baseUrl: string, accountId: string, name: string): string {
  return `${baseUrl}/${accountId}/${encodeURIComponent(name)}`;
}

/** The queue a QueueUrl names (its last path segment), whatever host it was built on. */
export function queueNameFromUrl(url: string): string | undefined {
  let path: string;
  try {
    path = /^[a-z]+:\/\//i.test(url) ? new URL(url).pathname : url;
  } catch {
    return undefined;
  }
  const last = path
    .split('/')
    .filter((s) => s !== '')
    .pop();
  if (last === undefined) return undefined;
  try {
    return decodeURIComponent(last);
  } catch {
    return undefined;
  }
}

export function arn(service: string, region: string, accountId: string, resource: string): string {
  return `arn:aws:${service}:${region}:${accountId}:${resource}`;
}

/** The resource part of an ARN of `service` (a queue or topic name), or undefined when it is not one. */
export function arnResource(value: string, service: string): string | undefined {
  const parts = value.split(':');
  if (parts.length < 6 || parts[0] !== 'arn' || parts[2] !== service) return undefined;
  return parts.slice(5).join(':');
}
