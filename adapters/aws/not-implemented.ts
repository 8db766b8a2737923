// The AWS door before any AWS API is served: every HTTP request on the listener is answered 501 in
// the shape the caller's SDK reads (JSON 1.0 for X-Amz-Target requests, the query protocol's XML
// otherwise), so a client learns what is missing instead of hanging. Node's own HTTP server parses
// the requests; it is fed the listeners' connection streams and never listens itself.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ConnectionInfo } from '../../src/net/connection.ts';
import { uuid } from '../../src/shared/ids.ts';

const MESSAGE = 'This Junction does not serve the AWS APIs yet';

export class NotImplementedDoor {
  private readonly http = createServer((req, res) => this.answer(req, res));

  accept(stream: Duplex, info: ConnectionInfo): void {
    if (info.refused !== undefined) {
      stream.end(
        `HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(info.refused) + 1}\r\n\r\n${info.refused}\n`,
      );
      return;
    }
    info.established();
    this.http.emit('connection', stream);
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const requestId = uuid();
    req.resume();
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string') {
      res.writeHead(501, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId });
      res.end(JSON.stringify({ __type: 'NotImplemented', message: `${MESSAGE} (${target})` }));
      return;
    }
    res.writeHead(501, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId, 'x-amzn-query-error': 'NotImplemented;Sender' });
    res.end(
      `<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>NotImplemented</Code><Message>${MESSAGE}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    );
  }
}
