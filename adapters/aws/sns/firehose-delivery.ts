// SNS `firehose` subscriptions: the delivery stream an endpoint ARN names, and a message put to it
// as one record ended by a newline, as SNS delivers to Firehose (objects hold one message a line).
import type { DeliveryStreams } from '../../../src/firehose/delivery-streams.ts';

const STREAM_ARN = /^arn:[\w-]+:firehose:[^:]*:[^:]*:deliverystream\/([a-zA-Z0-9_.-]{1,64})$/;

export function streamOfArn(arn: string): string | undefined {
  return STREAM_ARN.exec(arn)?.[1];
}

export async function putToStream(streams: DeliveryStreams, stream: string, record: string): Promise<void> {
  const [outcome] = await streams.put(stream, [Buffer.from(`${record}\n`, 'utf8')], { connectionId: 'sns' });
  if (outcome && 'error' in outcome) throw outcome.error;
}
