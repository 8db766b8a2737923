// SNS topic and subscription attributes: which may be set, their checks, and the computed ones.
import { AwsError } from '../errors.ts';
import { compileFilterPolicy, FilterPolicyError } from './filter-policy.ts';
import { deliveryPolicyProblem } from './http-delivery.ts';

const TOPIC_SETTABLE = new Set([
  'DisplayName',
  'Policy',
  'DeliveryPolicy',
  'KmsMasterKeyId',
  'SignatureVersion',
  'TracingConfig',
  'ContentBasedDeduplication',
  'FifoTopic',
  'ArchivePolicy',
  'DataProtectionPolicy',
]);

const SUBSCRIPTION_SETTABLE = new Set([
  'DeliveryPolicy',
  'FilterPolicy',
  'FilterPolicyScope',
  'RawMessageDelivery',
  'RedrivePolicy',
  'SubscriptionRoleArn',
  'ReplayPolicy',
]);

function invalid(message: string): AwsError {
  return new AwsError('InvalidParameter', `Invalid parameter: ${message}`);
}

export function checkTopicAttribute(name: string, value: string, creating: boolean, fifo: boolean): void {
  if (!TOPIC_SETTABLE.has(name)) throw invalid(`AttributeName ${name}`);
  if (name === 'FifoTopic' && !creating) throw invalid('AttributeName FifoTopic can be set only when the topic is created');
  if ((name === 'FifoTopic' || name === 'ContentBasedDeduplication') && value !== 'true' && value !== 'false')
    throw invalid(`${name} must be true or false`);
  if (name === 'ContentBasedDeduplication' && value === 'true' && !fifo)
    throw invalid('ContentBasedDeduplication Reason: Content-based deduplication can only be set for FIFO topics');
  if (name === 'DisplayName' && value.length > 100) throw invalid('DisplayName is longer than 100 characters');
  if (name === 'DeliveryPolicy' && value !== '') {
    const p = deliveryPolicyProblem(value);
    if (p !== undefined) throw invalid(p);
  }
  if ((name === 'Policy' || name === 'ArchivePolicy' || name === 'DataProtectionPolicy') && value !== '') jsonObject(name, value);
}

export function checkSubscriptionAttribute(name: string, value: string): void {
  if (!SUBSCRIPTION_SETTABLE.has(name)) throw invalid(`AttributeName ${name}`);
  switch (name) {
    case 'RawMessageDelivery':
      if (value !== 'true' && value !== 'false') throw invalid('RawMessageDelivery: must be true or false');
      return;
    case 'FilterPolicyScope':
      if (value !== 'MessageAttributes' && value !== 'MessageBody')
        throw invalid('FilterPolicyScope: must be MessageAttributes or MessageBody');
      return;
    case 'DeliveryPolicy': {
      const p = value === '' ? undefined : deliveryPolicyProblem(value);
      if (p !== undefined) throw invalid(p);
      return;
    }
    case 'RedrivePolicy': {
      if (value === '') return;
      const doc = jsonObject(name, value);
      if (typeof doc.deadLetterTargetArn !== 'string' || !doc.deadLetterTargetArn.startsWith('arn:aws:sqs:')) {
        throw invalid('RedrivePolicy: deadLetterTargetArn is missing or is not an SQS queue ARN');
      }
      return;
    }
    default:
      return;
  }
}

/** Checks a subscription's filter policy against its scope (a change of either). */
export function checkFilterPolicy(policy: string | undefined, scope: string | undefined): void {
  if (policy === undefined || policy === '') return;
  try {
    compileFilterPolicy(policy, scope === 'MessageBody' ? 'MessageBody' : 'MessageAttributes');
  } catch (err) {
    if (err instanceof FilterPolicyError) throw new AwsError('InvalidParameter', err.message);
    throw err;
  }
}

function jsonObject(name: string, value: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(value);
  } catch {
    throw invalid(`${name}: failed to parse JSON`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw invalid(`${name}: must be a JSON object`);
  return doc as Record<string, unknown>;
}
