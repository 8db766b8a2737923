// A minimal STOMP 1.2 client for the benchmarks (the adapter's own codec, used from the client
// side), so Junction and ActiveMQ are driven by exactly the same code.
import net from 'node:net';
import type { StompFrame } from '../../adapters/stomp/frame.ts';
import { StompParser } from '../../adapters/stomp/parser.ts';
import { encodeFrame, type HeaderList } from '../../adapters/stomp/serializer.ts';

export class BenchStomp {
  private readonly parser = new StompParser(
    { maxLineBytes: 1 << 16, maxHeaders: 10_000, maxHeaderBytes: 1 << 20, maxBodyBytes: 1 << 28 },
    'client',
  );
  onFrame: (f: StompFrame) => void = () => {};

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      for (const f of this.parser.push(d)) this.onFrame(f);
    });
    socket.on('error', () => {});
  }

  static async connect(port: number, headers: Record<string, string> = {}): Promise<BenchStomp> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    const c = new BenchStomp(socket);
    const connected = new Promise<void>((resolve, reject) => {
      c.onFrame = (f) => (f.command === 'CONNECTED' ? resolve() : reject(new Error(f.headers.get('message') ?? f.command)));
    });
    c.send('CONNECT', [['accept-version', '1.2'], ['host', 'localhost'], ...Object.entries(headers)]);
    await connected;
    return c;
  }

  send(command: string, headers: HeaderList, body?: Uint8Array): boolean {
    return this.socket.write(encodeFrame(command, headers, body, '1.2'));
  }

  close(): void {
    this.socket.destroy();
  }
}
