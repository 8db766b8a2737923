// The AWS APIs' figures, kept where /metrics reads them (the core's connection registry): requests
// by service and operation, errors by code, long polls waiting, and a debug log line per request.
import type { Logger } from 'pino';
import type { Broker } from '../../src/core/broker.ts';

export class AwsMetrics {
  constructor(
    private readonly broker: Broker,
    private readonly log: Logger,
  ) {}

  request(service: string, operation: string, error: string | undefined, started: bigint): void {
    this.broker.connections.request(service, operation, error);
    if (this.log.isLevelEnabled('debug')) {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      this.log.debug({ service, operation, error, ms }, 'AWS API request');
    }
  }

  waiting(service: string, delta: number): void {
    this.broker.connections.waitingChanged(service, delta);
  }
}
