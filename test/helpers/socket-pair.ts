// A connected pair of real loopback TCP sockets, for tests of code that drives a socket: `ours`
// (the side that connected) and `peer` (the side the server accepted). Both and the server are
// added to `open`, for the test to close.
import net from 'node:net';
import { once } from 'node:events';

export async function socketPair(open: Array<net.Server | net.Socket>): Promise<{ ours: net.Socket; peer: net.Socket }> {
  const server = net.createServer();
  open.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const ours = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  open.push(ours);
  await once(ours, 'connect');
  const [peer] = (await accepted) as [net.Socket];
  open.push(peer);
  return { ours, peer };
}
