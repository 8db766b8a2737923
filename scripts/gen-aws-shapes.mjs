#!/usr/bin/env node
/* global process, URL, console */
// Generates adapters/aws/model/<service>-shapes.ts from the AWS service models botocore ships
// (Debian's python3-botocore, Apache-2.0): for each operation the AWS APIs serve, the shapes its
// request and response use, with only what the query and JSON wire protocols need (types,
// member names, locationName, flattened, the result wrapper) and the modelled errors. The broker
// never reads botocore: run this when an operation is added, and commit its output.
//   node scripts/gen-aws-shapes.mjs [botocore data dir]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dataDir = process.argv[2] ?? '/usr/lib/python3/dist-packages/botocore/data';
const out = new URL('../adapters/aws/model/', import.meta.url);

const services = {
  sqs: {
    model: 'sqs/2012-11-05/service-2.json',
    operations: [
      'ChangeMessageVisibility',
      'ChangeMessageVisibilityBatch',
      'CreateQueue',
      'DeleteMessage',
      'DeleteMessageBatch',
      'DeleteQueue',
      'GetQueueAttributes',
      'GetQueueUrl',
      'ListDeadLetterSourceQueues',
      'ListQueueTags',
      'ListQueues',
      'PurgeQueue',
      'ReceiveMessage',
      'SendMessage',
      'SendMessageBatch',
      'SetQueueAttributes',
      'TagQueue',
      'UntagQueue',
      'AddPermission',
      'RemovePermission',
    ],
  },
  sns: {
    model: 'sns/2010-03-31/service-2.json',
    operations: [
      'ConfirmSubscription',
      'CreateTopic',
      'DeleteTopic',
      'GetSubscriptionAttributes',
      'GetTopicAttributes',
      'ListSubscriptions',
      'ListSubscriptionsByTopic',
      'ListTagsForResource',
      'ListTopics',
      'Publish',
      'PublishBatch',
      'SetSubscriptionAttributes',
      'SetTopicAttributes',
      'Subscribe',
      'TagResource',
      'Unsubscribe',
      'UntagResource',
      'AddPermission',
      'RemovePermission',
      'GetDataProtectionPolicy',
      'PutDataProtectionPolicy',
    ],
  },
  firehose: {
    model: 'firehose/2015-08-04/service-2.json',
    // JSON 1.1 only: the door needs its operations and errors, not the shapes the query codec reads.
    jsonOnly: true,
    operations: [
      'CreateDeliveryStream',
      'DeleteDeliveryStream',
      'DescribeDeliveryStream',
      'ListDeliveryStreams',
      'ListTagsForDeliveryStream',
      'PutRecord',
      'PutRecordBatch',
      'StartDeliveryStreamEncryption',
      'StopDeliveryStreamEncryption',
      'TagDeliveryStream',
      'UntagDeliveryStream',
      'UpdateDestination',
    ],
  },
  kinesis: {
    model: 'kinesis/2013-12-02/service-2.json',
    // JSON 1.1 and CBOR: the door needs its operations and errors.
    jsonOnly: true,
    operations: [
      'AddTagsToStream',
      'CreateStream',
      'DecreaseStreamRetentionPeriod',
      'DeleteStream',
      'DeregisterStreamConsumer',
      'DescribeLimits',
      'DescribeStream',
      'DescribeStreamConsumer',
      'DescribeStreamSummary',
      'DisableEnhancedMonitoring',
      'EnableEnhancedMonitoring',
      'GetRecords',
      'GetShardIterator',
      'IncreaseStreamRetentionPeriod',
      'ListShards',
      'ListStreamConsumers',
      'ListStreams',
      'ListTagsForStream',
      'MergeShards',
      'PutRecord',
      'PutRecords',
      'RegisterStreamConsumer',
      'RemoveTagsFromStream',
      'SplitShard',
      'StartStreamEncryption',
      'StopStreamEncryption',
      'SubscribeToShard',
      'UpdateShardCount',
      'UpdateStreamMode',
    ],
  },
};

for (const [name, svc] of Object.entries(services)) {
  const model = JSON.parse(readFileSync(join(dataDir, svc.model), 'utf8'));
  const shapes = {};
  const visit = (shapeName) => {
    if (shapes[shapeName] !== undefined) return;
    const s = model.shapes[shapeName];
    const slim = { type: s.type };
    shapes[shapeName] = slim;
    if (s.flattened) slim.flattened = true;
    if (s.type === 'structure') {
      slim.members = {};
      for (const [m, ref] of Object.entries(s.members)) {
        visit(ref.shape);
        slim.members[m] = ref.locationName ? { shape: ref.shape, locationName: ref.locationName } : { shape: ref.shape };
      }
      if (s.required) slim.required = s.required;
    } else if (s.type === 'list') {
      visit(s.member.shape);
      slim.member = s.member.locationName ? { shape: s.member.shape, locationName: s.member.locationName } : { shape: s.member.shape };
    } else if (s.type === 'map') {
      visit(s.key.shape);
      visit(s.value.shape);
      slim.key = { shape: s.key.shape, ...(s.key.locationName ? { locationName: s.key.locationName } : {}) };
      slim.value = { shape: s.value.shape, ...(s.value.locationName ? { locationName: s.value.locationName } : {}) };
    }
  };
  const operations = {};
  for (const op of svc.operations) {
    const o = model.operations[op];
    if (!o) throw new Error(`${name}: no operation ${op} in ${svc.model}`);
    const entry = {};
    if (o.input) {
      visit(o.input.shape);
      entry.input = o.input.shape;
    }
    if (o.output) {
      visit(o.output.shape);
      entry.output = o.output.shape;
      if (o.output.resultWrapper) entry.resultWrapper = o.output.resultWrapper;
    }
    operations[op] = entry;
  }
  const errors = {};
  for (const [n, s] of Object.entries(model.shapes)) {
    if (s.error) errors[n] = { code: s.error.code ?? n, status: s.error.httpStatusCode ?? 400, sender: s.error.senderFault === true };
    // JSON services model an exception by its shape alone: a fault is the server's (500), else the sender's.
    else if (s.exception) errors[n] = { code: n, status: s.fault ? 500 : 400, sender: s.fault !== true };
  }
  const text = `// Generated by scripts/gen-aws-shapes.mjs from botocore's ${svc.model} (Apache-2.0). Do not edit.
import type { ServiceModel } from './shape.ts';

export const ${name}Model: ServiceModel = ${JSON.stringify(
    {
      xmlNamespace: model.metadata.xmlNamespace ?? '',
      apiVersion: model.metadata.apiVersion,
      operations,
      shapes: svc.jsonOnly ? {} : shapes,
      errors,
    },
    null,
    1,
  )};
`;
  writeFileSync(new URL(`${name}-shapes.ts`, out), text);
  console.log(`${name}: ${Object.keys(operations).length} operations, ${Object.keys(shapes).length} shapes`);
}
