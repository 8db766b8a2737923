// One message, every door, for SQS and SNS: an SQS send read over STOMP and AMQP with its body
// byte for byte and its attributes as headers and typed properties, and their sends read back over
// SQS; an SNS publish read by MQTT, STOMP and AMQP subscribers of the topic; an MQTT publish (a
// binary payload too) reaching the topic's SQS subscriptions. The SQS column of the mapping table
// (adapters/aws/mapping-columns.ts) is what this checks.
import { PublishCommand, SNSClient, CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import rhea from 'rhea';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsAdapter } from '../../adapters/aws/index.ts';
import { amqpAdapter } from '../../adapters/amqp/index.ts';
import { mqttAdapter } from '../../adapters/mqtt/index.ts';
import { stompAdapter } from '../../adapters/stomp/index.ts';
import type { JunctionServer } from '../../src/server.ts';
import { AmqpClient } from '../helpers/amqp.ts';
import { connectMqtt, endMqtt } from '../helpers/mqtt.ts';
import { startTestServer } from '../helpers/server.ts';
import { RawStomp } from '../helpers/stomp.ts';

let server: JunctionServer;
let sqs: SQSClient;
let sns: SNSClient;
const port = (p: string): number => server.listeners.port(p, 'tcp') as number;

beforeAll(async () => {
  const ephemeral = { port: 0, tls: false };
  ({ server } = await startTestServer([stompAdapter, mqttAdapter, amqpAdapter, awsAdapter], {
    stomp: ephemeral,
    mqtt: ephemeral,
    amqp: ephemeral,
    aws: ephemeral,
    websocket: { enabled: false },
  }));
  const config = {
    endpoint: `http://127.0.0.1:${port('aws')}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' },
  };
  sqs = new SQSClient(config);
  sns = new SNSClient(config);
});

afterAll(async () => {
  sqs.destroy();
  sns.destroy();
  await server.stop();
});

async function receiveOne(url: string): Promise<Message> {
  const r = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 5, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }),
  );
  const m = r.Messages?.[0];
  if (!m) throw new Error(`no message on ${url} within 5 s`);
  await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
  return m;
}

describe('SQS to the other protocols and back', () => {
  it('an SQS send is read over STOMP and AMQP, body and attributes kept', async () => {
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: 'doors' }))).QueueUrl as string;
    const body = 'ünïcode body {"json": true} ✓';
    const send = (): Promise<unknown> =>
      sqs.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: body,
          MessageAttributes: { color: { DataType: 'String', StringValue: 'blue' }, count: { DataType: 'Number', StringValue: '42' } },
        }),
      );
    await send();
    const stomp = await RawStomp.connect(port('stomp'));
    stomp.send('SUBSCRIBE', { id: 's', destination: '/queue/doors' });
    const frame = await stomp.expect('MESSAGE');
    expect(frame.body.equals(Buffer.from(body, 'utf8'))).toBe(true);
    expect(frame.headers.get('color')).toBe('blue');
    expect(frame.headers.get('count')).toBe('42');
    stomp.close();
    await send();
    const amqp = await AmqpClient.connect(port('amqp'));
    try {
      const { got } = await amqp.receiver({ source: 'queue://doors', credit_window: 1, autoaccept: true });
      const m = (await got.nth(1)).message;
      const text = typeof m.body === 'string' ? m.body : Buffer.from((m.body as { content: Buffer }).content).toString('utf8');
      expect(text).toBe(body);
      expect(m.application_properties).toMatchObject({ color: 'blue', count: 42 });
    } finally {
      amqp.close();
    }
  });

  it('STOMP and AMQP sends are read over SQS, headers and typed properties as attributes', async () => {
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: 'doors-back' }))).QueueUrl as string;
    const stomp = await RawStomp.connect(port('stomp'));
    stomp.send('SEND', { destination: '/queue/doors-back', region: 'eu', receipt: 'r1' }, 'from stomp');
    await stomp.expect('RECEIPT');
    stomp.close();
    const fromStomp = await receiveOne(url);
    expect(fromStomp.Body).toBe('from stomp');
    expect(fromStomp.MessageAttributes?.region).toEqual({ DataType: 'String', StringValue: 'eu' });
    const amqp = await AmqpClient.connect(port('amqp'));
    try {
      const sender = await amqp.sender('queue://doors-back');
      await amqp.send(sender, {
        body: rhea.message.data_section(Buffer.from([0, 1, 2, 0xff])),
        application_properties: { qty: 7, vip: true },
      });
    } finally {
      amqp.close();
    }
    const fromAmqp = await receiveOne(url);
    expect(fromAmqp.MessageAttributes?.JunctionBodyEncoding?.StringValue).toBe('base64');
    expect(Buffer.from(fromAmqp.Body as string, 'base64').toString('hex')).toBe('000102ff');
    expect(fromAmqp.MessageAttributes?.qty).toEqual({ DataType: 'Number', StringValue: '7' });
    expect(fromAmqp.MessageAttributes?.vip).toEqual({ DataType: 'String', StringValue: 'true' });
  });
});

describe('SNS and the other protocols', () => {
  it('an SNS publish reaches MQTT, STOMP and AMQP subscribers; an MQTT publish reaches SQS subscriptions', async () => {
    const topicArn = (await sns.send(new CreateTopicCommand({ Name: 'telemetry' }))).TopicArn as string;
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: 'telemetry-raw' }))).QueueUrl as string;
    const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
    await sns.send(
      new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn, Attributes: { RawMessageDelivery: 'true' } }),
    );
    const { client, got } = await connectMqtt(`mqtt://127.0.0.1:${port('mqtt')}`);
    const stomp = await RawStomp.connect(port('stomp'));
    const amqp = await AmqpClient.connect(port('amqp'));
    try {
      await client.subscribeAsync('telemetry', { qos: 1 });
      stomp.send('SUBSCRIBE', { id: 't', destination: '/topic/telemetry', receipt: 'sub' });
      await stomp.expect('RECEIPT');
      const { got: amqpGot } = await amqp.receiver({ source: 'topic://telemetry', credit_window: 5, autoaccept: true });
      await sns.send(
        new PublishCommand({
          TopicArn: topicArn,
          Message: 'reading 21.5',
          MessageAttributes: { unit: { DataType: 'String', StringValue: 'C' } },
        }),
      );
      expect((await got.nth(1)).payload.toString()).toBe('reading 21.5');
      const frame = await stomp.expect('MESSAGE');
      expect(frame.body.toString()).toBe('reading 21.5');
      expect(frame.headers.get('unit')).toBe('C');
      const a = (await amqpGot.nth(1)).message;
      expect(a.application_properties).toMatchObject({ unit: 'C' });
      expect((await receiveOne(url)).Body).toBe('reading 21.5');
      const binary = Buffer.from([0xde, 0xad, 0x00, 0xbe, 0xef]);
      await client.publishAsync('telemetry', binary, { qos: 1 });
      const m = await receiveOne(url);
      expect(m.MessageAttributes?.JunctionBodyEncoding?.StringValue).toBe('base64');
      expect(Buffer.from(m.Body as string, 'base64').equals(binary)).toBe(true);
    } finally {
      await endMqtt(client);
      stomp.close();
      amqp.close();
    }
  });
});
