// STOMP frames as the adapter sees them, the commands each side may send, and the protocol error
// that ends a connection (sent to the client as an ERROR frame with a readable `message`).

export type StompVersion = '1.0' | '1.1' | '1.2';

export const VERSIONS: readonly StompVersion[] = ['1.0', '1.1', '1.2'];

export const CLIENT_COMMANDS = new Set([
  'CONNECT',
  'STOMP',
  'SEND',
  'SUBSCRIBE',
  'UNSUBSCRIBE',
  'ACK',
  'NACK',
  'BEGIN',
  'COMMIT',
  'ABORT',
  'DISCONNECT',
]);
export const SERVER_COMMANDS = new Set(['CONNECTED', 'MESSAGE', 'RECEIPT', 'ERROR']);

export interface StompFrame {
  command: string;
  /** Header values by name; when a name repeats, the first value wins (STOMP 1.2). */
  headers: Map<string, string>;
  body: Buffer;
}

/** Why a connection is being ended: the client broke the protocol or asked for what it may not do. */
export class StompProtocolError extends Error {
  constructor(
    message: string,
    /** Longer explanation for the ERROR frame's body. */
    readonly details?: string,
  ) {
    super(message);
    this.name = 'StompProtocolError';
  }
}
