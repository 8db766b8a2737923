// An aedes client (the MQTT 3.1/3.1.1 engine's connection) as the session layer's ClientHandle:
// Junction's names over aedes' own (deliver0, deliverQoS), and an end that closes, since MQTT 3.1.1
// has no packet to tell a client why.
import type { WriteTarget } from '../../src/net/batched-writer.ts';
import type { OutboundPublish } from './mapping.ts';
import type { ClientHandle } from './session.ts';

/** The part of aedes' Client the session layer uses: what a handle reads, and aedes' own delivery calls. */
export interface AedesClient extends Pick<ClientHandle, 'id' | 'version' | 'clean' | 'closed' | 'will' | 'close'> {
  deliver0(packet: OutboundPublish, done?: WriteTarget, n?: number): void;
  deliverQoS(packet: OutboundPublish): void;
}

export class AedesClientHandle implements ClientHandle {
  constructor(readonly raw: AedesClient) {}

  get id(): string {
    return this.raw.id;
  }

  get version(): number | null | undefined {
    return this.raw.version;
  }

  get clean(): boolean {
    return this.raw.clean;
  }

  get closed(): boolean {
    return this.raw.closed;
  }

  get will(): unknown {
    return this.raw.will;
  }

  deliver(packet: OutboundPublish, written?: WriteTarget, n?: number): void {
    this.raw.deliver0(packet, written, n);
  }

  deliverTracked(packet: OutboundPublish): void {
    this.raw.deliverQoS(packet);
  }

  close(cb?: () => void): void {
    this.raw.close(cb);
  }

  end(): void {
    this.raw.close();
  }
}
