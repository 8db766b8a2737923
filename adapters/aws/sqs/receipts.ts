// Receipt handles: each receive of a message gets its own, naming the queue and that receive, so a
// handle from another queue, a forged one and one from before the broker restarted are told apart
// from a current one. The handle is opaque to clients (base64url of the queue name and a random
// receive id); what it names lives in the queue's receiver.
import { randomBytes } from 'node:crypto';
import { AwsError } from '../errors.ts';

export interface Receipt {
  queue: string;
  receiveId: string;
}

export function newReceipt(queue: string): { handle: string; receiveId: string } {
  const receiveId = randomBytes(12).toString('hex');
  return { handle: Buffer.from(`${receiveId}:${queue}`, 'utf8').toString('base64url'), receiveId };
}

/** The queue and receive a handle names; ReceiptHandleIsInvalid when it is not one of ours for `queue`. */
export function readReceipt(handle: unknown, queue: string): Receipt {
  if (typeof handle !== 'string' || handle === '' || handle.length > 1024) throw invalidHandle(String(handle));
  const text = Buffer.from(handle, 'base64url').toString('utf8');
  const colon = text.indexOf(':');
  const receiveId = text.slice(0, colon);
  if (colon !== 24 || !/^[0-9a-f]{24}$/.test(receiveId) || text.slice(colon + 1) !== queue) throw invalidHandle(handle);
  return { queue, receiveId };
}

function invalidHandle(handle: string): AwsError {
  return new AwsError('ReceiptHandleIsInvalid', `The input receipt handle "${handle.slice(0, 200)}" is not a valid receipt handle.`);
}
