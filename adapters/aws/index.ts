// The AWS-compatible APIs' door: one HTTP listener (port 4566, the port local AWS endpoints use;
// TLS 4567), off by default until it serves an API. It shows what a protocol is in Junction: this
// folder and one line in the registry (adapters/index.ts), nothing else.
import type { AdapterDescriptor } from '../adapter.ts';
import { awsConfigSchema } from './config.ts';
import { NotImplementedDoor } from './not-implemented.ts';

export const awsAdapter: AdapterDescriptor<typeof awsConfigSchema, 'aws'> = {
  name: 'aws',
  title: 'AWS APIs over HTTP',
  listener: { port: 4566, tlsPort: 4567, enabled: false },
  configSchema: awsConfigSchema,
  mapping: [],
  create: () => {
    const door = new NotImplementedDoor();
    return { handleConnection: (stream, info) => door.accept(stream, info) };
  },
};
