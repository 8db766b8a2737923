// Records an AWS API keeps in the store (queue attributes, topics, subscriptions): adapter session
// records under one id prefix, so they are written fenced and sealed like every record and are
// there after a restart or a takeover.
import type { Broker } from '../../src/core/broker.ts';

export class StoredRecords<T extends object> {
  constructor(
    private readonly broker: Broker,
    private readonly prefix: string,
  ) {}

  /** Every stored record that `valid` accepts (a record of another shape is skipped). */
  async load(valid: (r: T) => boolean): Promise<T[]> {
    return (await this.broker.listSessions(this.prefix)).map((s) => s.data as unknown as T).filter(valid);
  }

  put(key: string, record: T): Promise<void> {
    return this.broker.putSession({
      id: this.prefix + key,
      data: record as unknown as Record<string, unknown>,
      updatedAt: Date.now(),
      expiresAt: 0,
    });
  }

  delete(key: string): Promise<void> {
    return this.broker.deleteSession(this.prefix + key);
  }
}
