// A minimal AWS JSON client for the benchmark: SQS's JSON 1.0 requests (what current SDKs send), or
// another JSON service's (Firehose's 1.1), over keep-alive HTTP, unsigned (the bench broker has no
// users). The AWS SDK would spend more of this 2-core machine's CPU on the client side than the
// broker spends serving it.
import { Agent, request } from 'node:http';

export class BenchSqs {
  private readonly agent: Agent;

  constructor(
    private readonly port: number,
    maxSockets = 64,
    private readonly service: { target: string; jsonVersion: string } = { target: 'AmazonSQS', jsonVersion: '1.0' },
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  call<T = Record<string, unknown>>(action: string, input: Record<string, unknown>): Promise<T> {
    const body = JSON.stringify(input);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          method: 'POST',
          path: '/',
          agent: this.agent,
          headers: {
            'content-type': `application/x-amz-json-${this.service.jsonVersion}`,
            'x-amz-target': `${this.service.target}.${action}`,
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200) reject(new Error(`${action}: ${res.statusCode} ${text}`));
            else resolve(JSON.parse(text) as T);
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
