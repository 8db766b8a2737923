// The AWS wire codecs as property tests: any body, headers and form a client sends end in an
// operation's input or an AwsError (never another exception); a request serialized the way
// botocore's QuerySerializer writes it decodes back to the JSON-shaped input it came from; and the
// XML answer escapes whatever text it carries.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AwsError } from '../../adapters/aws/errors.ts';
import { snsModel } from '../../adapters/aws/model/sns-shapes.ts';
import { sqsModel } from '../../adapters/aws/model/sqs-shapes.ts';
import { decodeQuery, encodeQueryResponse, type JsonObject, type JsonValue, type ServiceModel } from '../../adapters/aws/model/shape.ts';
import type { AwsService } from '../../adapters/aws/service.ts';
import { decodeRequest } from '../../adapters/aws/wire.ts';

const services: AwsService[] = [
  { signingName: 'sqs', model: sqsModel, jsonTargetPrefix: 'AmazonSQS', handle: () => Promise.resolve(undefined) },
  { signingName: 'sns', model: snsModel, handle: () => Promise.resolve(undefined) },
];

/** botocore's QuerySerializer, for the tests: a JSON-shaped input as form parameters. */
function serialize(model: ServiceModel, shapeName: string, value: JsonValue, prefix: string, out: Map<string, string>): void {
  const shape = model.shapes[shapeName];
  if (!shape) return;
  if (shape.type === 'structure') {
    for (const [name, ref] of Object.entries(shape.members ?? {})) {
      const v = (value as JsonObject)[name];
      if (v === undefined) continue;
      const key = prefix === '' ? (ref.locationName ?? name) : `${prefix}.${ref.locationName ?? name}`;
      serialize(model, ref.shape, v, key, out);
    }
  } else if (shape.type === 'list') {
    const items = value as JsonValue[];
    if (items.length === 0) {
      out.set(prefix, '');
      return;
    }
    const member = shape.member ?? { shape: '' };
    const listPrefix = shape.flattened
      ? member.locationName
        ? [...prefix.split('.').slice(0, -1), member.locationName].join('.')
        : prefix
      : `${prefix}.${member.locationName ?? 'member'}`;
    items.forEach((item, i) => serialize(model, member.shape, item, `${listPrefix}.${i + 1}`, out));
  } else if (shape.type === 'map') {
    const full = shape.flattened ? prefix : `${prefix}.entry`;
    Object.entries(value as JsonObject).forEach(([k, v], i) => {
      out.set(`${full}.${i + 1}.${shape.key?.locationName ?? 'key'}`, k);
      serialize(model, shape.value?.shape ?? '', v, `${full}.${i + 1}.${shape.value?.locationName ?? 'value'}`, out);
    });
  } else {
    out.set(prefix, String(value));
  }
}

const text = fc.string({ minLength: 1, maxLength: 20 });
const attributeValue = fc.oneof(
  fc.record({ DataType: fc.constant('String'), StringValue: text }),
  fc.record({ DataType: fc.constant('Number'), StringValue: fc.integer().map(String) }),
);
const sendEntry = fc.record(
  {
    Id: fc.stringMatching(/^[A-Za-z0-9_-]{1,10}$/),
    MessageBody: text,
    DelaySeconds: fc.integer({ min: 0, max: 900 }),
    MessageAttributes: fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), attributeValue, { minKeys: 1, maxKeys: 3 }),
    MessageGroupId: text,
  },
  { requiredKeys: ['Id', 'MessageBody'] },
);

describe('the query protocol decoder', () => {
  it('decodes what botocore serializes back to the same input (SQS SendMessageBatch, CreateQueue)', () => {
    fc.assert(
      fc.property(
        fc.array(sendEntry, { minLength: 1, maxLength: 10 }),
        fc.dictionary(fc.stringMatching(/^[A-Za-z]{1,12}$/), text),
        (entries, tags) => {
          const batch = { QueueUrl: 'http://h/000000000000/q', Entries: entries } as unknown as JsonObject;
          const params = new Map<string, string>();
          serialize(sqsModel, 'SendMessageBatchRequest', batch, '', params);
          expect(decodeQuery(sqsModel, 'SendMessageBatchRequest', params)).toEqual(JSON.parse(JSON.stringify(batch)));
          const create = { QueueName: 'q', Attributes: { VisibilityTimeout: '5' }, tags } as JsonObject;
          const p2 = new Map<string, string>();
          serialize(sqsModel, 'CreateQueueRequest', create, '', p2);
          const back = decodeQuery(sqsModel, 'CreateQueueRequest', p2);
          expect(back).toEqual(Object.keys(tags).length > 0 ? create : { QueueName: 'q', Attributes: { VisibilityTimeout: '5' } });
        },
      ),
    );
  });

  it('decodes SNS maps and member lists (Subscribe attributes, tags, publish batches)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.stringMatching(/^[A-Za-z]{1,12}$/), text, { minKeys: 1 }),
        fc.array(fc.record({ Key: text, Value: text }), { minLength: 1 }),
        (attributes, tags) => {
          const input = { Name: 't', Attributes: attributes, Tags: tags } as unknown as JsonObject;
          const params = new Map<string, string>();
          serialize(snsModel, 'CreateTopicInput', input, '', params);
          expect(decodeQuery(snsModel, 'CreateTopicInput', params)).toEqual(input);
        },
      ),
    );
  });

  it('answers any request with an input or an AwsError, never another exception', () => {
    fc.assert(
      fc.property(
        fc.option(fc.string(), { nil: undefined }),
        fc.constantFrom('application/x-www-form-urlencoded', 'application/x-amz-json-1.0', ''),
        fc.array(fc.tuple(fc.string(), fc.string()), { maxLength: 6 }),
        fc.uint8Array({ maxLength: 200 }),
        (target, contentType, query, body) => {
          try {
            decodeRequest(services, { target, contentType, query, body: Buffer.from(body), signingName: undefined });
          } catch (err) {
            expect(err).toBeInstanceOf(AwsError);
          }
        },
      ),
    );
  });

  it('refuses a number that is not one with InvalidParameterValue', () => {
    const params = new Map([['MaxNumberOfMessages', '1e3']]);
    expect(() => decodeQuery(sqsModel, 'ReceiveMessageRequest', params)).toThrow(/must be an integer/);
  });
});

describe('the query protocol encoder', () => {
  it('escapes any text it answers with, so the XML stays well formed', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const xml = encodeQueryResponse(sqsModel, 'GetQueueUrl', { QueueUrl: s }, 'rid');
        const inner = /<QueueUrl>(.*)<\/QueueUrl>/s.exec(xml)?.[1] ?? '';
        expect(inner).not.toMatch(/[<>]/);
        const decoded = inner
          .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
          .replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e] as string);
        expect(decoded).toBe(s);
      }),
    );
  });

  it('writes flattened lists and maps the way botocore reads them', () => {
    const xml = encodeQueryResponse(
      sqsModel,
      'ReceiveMessage',
      {
        Messages: [
          {
            MessageId: 'm1',
            Body: 'a',
            Attributes: { SentTimestamp: '1' },
            MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } },
          },
        ],
      },
      'rid',
    );
    expect(xml).toContain(
      '<ReceiveMessageResult><Message><MessageId>m1</MessageId><Body>a</Body><Attribute><Name>SentTimestamp</Name><Value>1</Value></Attribute>' +
        '<MessageAttribute><Name>k</Name><Value><StringValue>v</StringValue><DataType>String</DataType></Value></MessageAttribute></Message></ReceiveMessageResult>',
    );
  });
});
