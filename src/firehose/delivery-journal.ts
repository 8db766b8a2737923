// The object a stream is writing, kept in the store before each write: its bucket, key and the
// buffered messages it holds. A broker killed between writing an object and its acknowledgements
// reaching the store leaves those messages to be redelivered; the broker that takes over reads the
// journal, and if the object is there it acknowledges them without writing them again. So a
// takeover writes nothing twice, except when the object's presence cannot be told (the
// destination down at that moment): then the batch is written again, and counted.
import type { Logger } from 'pino';
import type { Broker } from '../core/broker.ts';
import type { ObjectStore } from './object-stores.ts';

const JOURNAL_PREFIX = 'firehose:writing:';

interface JournalEntry {
  bucket: string;
  key: string;
  ids: string[];
}

export class DeliveryJournal {
  /** Messages already in an object the broker before this one wrote. */
  private written: Set<string> | undefined;
  /** Messages of an object whose presence could not be told: writing them again may duplicate them. */
  private uncertain: Set<string> | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly objects: ObjectStore,
    private readonly stream: string,
    private readonly log: Logger,
  ) {}

  /** Reads what the broker before wrote last, and whether that object is there. */
  async recover(): Promise<void> {
    const s = await this.broker.getSession(JOURNAL_PREFIX + this.stream);
    const j = s?.data as Partial<JournalEntry> | undefined;
    if (!j || typeof j.bucket !== 'string' || typeof j.key !== 'string' || !Array.isArray(j.ids)) return;
    let there: boolean;
    try {
      there = await this.objects.exists(j.bucket, j.key);
    } catch (err) {
      this.log.warn(
        { err, stream: this.stream, key: j.key },
        'delivery stream cannot tell whether its last object was written: its records will be written again if they come back',
      );
      this.uncertain = new Set(j.ids);
      return;
    }
    if (there) this.written = new Set(j.ids);
  }

  /**
   * What a redelivered message is: `written` (already in an object: acknowledge it, do not write
   * it), `uncertain` (it may be: writing it again may duplicate it), or neither.
   */
  classify(id: string): 'written' | 'uncertain' | undefined {
    if (this.written?.delete(id)) return 'written';
    if (this.uncertain?.delete(id)) return 'uncertain';
    return undefined;
  }

  /** Recovery is over once this broker has written an object of its own. */
  settled(): void {
    this.written = undefined;
    this.uncertain = undefined;
  }

  /** Before an object is written: what it will be and hold. */
  writing(bucket: string, key: string, ids: readonly string[]): Promise<void> {
    return this.broker.putSession({
      id: JOURNAL_PREFIX + this.stream,
      data: { bucket, key, ids },
      updatedAt: Date.now(),
      expiresAt: 0,
    });
  }
}

/** Forgets a deleted stream's journal. */
export function removeJournal(broker: Broker, stream: string): Promise<void> {
  return broker.deleteSession(JOURNAL_PREFIX + stream);
}
