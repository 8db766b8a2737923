// SQS queue attributes: which exist, their defaults and valid values (AWS's ranges), which may be
// set when and on which kind of queue, and what they make the queue do. Values are kept as the
// strings SQS answers with; `QueueSettings` is the same read as numbers for the code that honours
// them.
import { AwsError } from '../errors.ts';
import { arnResource } from './names.ts';

export type Attributes = Record<string, string>;

interface AttributeRule {
  default?: string;
  /** An integer in [min, max]. */
  range?: [number, number];
  /** One of these. */
  oneOf?: readonly string[];
  /** A JSON document checked by `json`. */
  json?: (v: Record<string, unknown>) => string | undefined;
  fifoOnly?: boolean;
  /** Only when the queue is created. */
  createOnly?: boolean;
}

const BOOLEAN = ['true', 'false'] as const;

const RULES: Record<string, AttributeRule> = {
  DelaySeconds: { default: '0', range: [0, 900] },
  MaximumMessageSize: { default: '262144', range: [1024, 1_048_576] },
  MessageRetentionPeriod: { default: '345600', range: [60, 1_209_600] },
  ReceiveMessageWaitTimeSeconds: { default: '0', range: [0, 20] },
  VisibilityTimeout: { default: '30', range: [0, 43_200] },
  Policy: { json: () => undefined },
  RedrivePolicy: { json: redrivePolicyProblem },
  RedriveAllowPolicy: { json: redriveAllowProblem },
  KmsMasterKeyId: {},
  KmsDataKeyReusePeriodSeconds: { range: [60, 86_400] },
  SqsManagedSseEnabled: { default: 'true', oneOf: BOOLEAN },
  FifoQueue: { oneOf: BOOLEAN, createOnly: true },
  ContentBasedDeduplication: { oneOf: BOOLEAN, fifoOnly: true },
  DeduplicationScope: { oneOf: ['messageGroup', 'queue'], fifoOnly: true },
  FifoThroughputLimit: { oneOf: ['perQueue', 'perMessageGroupId'], fifoOnly: true },
};

/** Attributes SQS computes; asked for, they are answered, never set. */
export const COMPUTED = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
  'QueueArn',
] as const;

export interface QueueSettings {
  fifo: boolean;
  delaySeconds: number;
  maximumMessageSize: number;
  retentionSeconds: number;
  waitSeconds: number;
  visibilitySeconds: number;
  contentBasedDeduplication: boolean;
  /** DeduplicationScope messageGroup: a deduplication id counts within its message group only. */
  dedupPerGroup: boolean;
  /** From RedrivePolicy: receives before a message goes to `deadLetterQueue`. */
  maxReceiveCount: number | undefined;
  deadLetterQueue: string | undefined;
}

/** The attributes a new queue starts with. */
export function defaultAttributes(fifo: boolean): Attributes {
  const a: Attributes = {};
  for (const [name, rule] of Object.entries(RULES)) if (rule.default !== undefined) a[name] = rule.default;
  if (fifo) {
    Object.assign(a, {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'false',
      DeduplicationScope: 'queue',
      FifoThroughputLimit: 'perQueue',
    });
  }
  return a;
}

/**
 * Checks attributes a client gives (at create, or set later) for a queue that is or will be FIFO;
 * throws AWS's InvalidAttributeName / InvalidAttributeValue.
 */
export function checkAttributes(given: Attributes, fifo: boolean, creating: boolean): void {
  for (const [name, value] of Object.entries(given)) {
    const rule = RULES[name];
    if (!rule) {
      if ((COMPUTED as readonly string[]).includes(name)) throw invalidValue(name, `${name} cannot be set.`);
      throw new AwsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
    }
    if (typeof value !== 'string') throw invalidValue(name, `Invalid value for the parameter ${name}.`);
    if (rule.fifoOnly && !fifo) throw invalidValue(name, `You can specify the ${name} only when FifoQueue is set to true.`);
    if (rule.createOnly && !creating)
      throw invalidValue(name, `Invalid attribute name. ${name} can only be set when the queue is created.`);
    if (rule.range) {
      const n = Number(value);
      if (!/^\d+$/.test(value) || n < rule.range[0] || n > rule.range[1]) {
        throw invalidValue(name, `Invalid value for the parameter ${name}. Reason: must be between ${rule.range[0]} and ${rule.range[1]}.`);
      }
    }
    if (rule.oneOf && !rule.oneOf.includes(value)) throw invalidValue(name, `Invalid value for the parameter ${name}.`);
    if (rule.json && value !== '') {
      let doc: unknown;
      try {
        doc = JSON.parse(value);
      } catch {
        throw invalidValue(name, `Invalid value for the parameter ${name}. Reason: ${name} must be a valid JSON document.`);
      }
      if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
        throw invalidValue(name, `Invalid value for the parameter ${name}.`);
      const problem = rule.json(doc as Record<string, unknown>);
      if (problem !== undefined) throw invalidValue(name, `Value ${value} for parameter ${name} is invalid. Reason: ${problem}`);
    }
  }
  if (given.FifoQueue === 'false' && fifo) throw invalidValue('FifoQueue', 'Invalid value for the parameter FifoQueue.');
}

/** The attributes as SQS keeps them: a RedrivePolicy's maxReceiveCount as a number, whatever was sent. */
export function normalized(a: Attributes): Attributes {
  if (!a.RedrivePolicy) return a;
  const p = JSON.parse(a.RedrivePolicy) as { deadLetterTargetArn: string; maxReceiveCount: number | string };
  return {
    ...a,
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: p.deadLetterTargetArn, maxReceiveCount: Number(p.maxReceiveCount) }),
  };
}

export function settingsOf(a: Attributes): QueueSettings {
  const num = (name: string): number => Number(a[name] ?? RULES[name]?.default ?? 0);
  let maxReceiveCount: number | undefined;
  let deadLetterQueue: string | undefined;
  if (a.RedrivePolicy) {
    const p = JSON.parse(a.RedrivePolicy) as { deadLetterTargetArn?: string; maxReceiveCount?: number | string };
    maxReceiveCount = Number(p.maxReceiveCount);
    deadLetterQueue = arnResource(String(p.deadLetterTargetArn), 'sqs');
  }
  return {
    fifo: a.FifoQueue === 'true',
    delaySeconds: num('DelaySeconds'),
    maximumMessageSize: num('MaximumMessageSize'),
    retentionSeconds: num('MessageRetentionPeriod'),
    waitSeconds: num('ReceiveMessageWaitTimeSeconds'),
    visibilitySeconds: num('VisibilityTimeout'),
    contentBasedDeduplication: a.ContentBasedDeduplication === 'true',
    dedupPerGroup: a.DeduplicationScope === 'messageGroup',
    maxReceiveCount,
    deadLetterQueue,
  };
}

function redrivePolicyProblem(p: Record<string, unknown>): string | undefined {
  const count = Number(p.maxReceiveCount);
  if (typeof p.deadLetterTargetArn !== 'string' || arnResource(p.deadLetterTargetArn, 'sqs') === undefined) {
    return 'Redrive policy does not contain a valid deadLetterTargetArn.';
  }
  if (!Number.isInteger(count) || count < 1 || count > 1000) return 'Value for maxReceiveCount must be an integer between 1 and 1000.';
  return undefined;
}

function redriveAllowProblem(p: Record<string, unknown>): string | undefined {
  if (!['allowAll', 'denyAll', 'byQueue'].includes(String(p.redrivePermission))) return 'Invalid value for redrivePermission.';
  if (p.redrivePermission === 'byQueue') {
    const arns = p.sourceQueueArns;
    if (!Array.isArray(arns) || arns.length < 1 || arns.length > 10)
      return 'sourceQueueArns must list 1 to 10 queue ARNs when redrivePermission is byQueue.';
  }
  return undefined;
}

function invalidValue(name: string, message: string): AwsError {
  return new AwsError('InvalidAttributeValue', message.includes(name) ? message : `${message} (${name})`);
}
