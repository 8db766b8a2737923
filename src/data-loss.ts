// Says what was lost when the store loses the cluster's data (Redis restarted without its files,
// was flushed, or failed over to an empty replica). The active broker learns it when it is fenced
// (a write refused with DATALOST, or the lease gone with the data) and the store confirms the data
// it opened is gone (Store.dataLost): it then logs, once, what its memory says the store held (durable queues and
// their stored messages, durable subscriptions, retained messages) and the sessions the store last
// counted, and counts them for /metrics. A broker taking over with an epoch no higher than one it
// has seen before says the data was lost before it came, whatever that was.
import type { Logger } from 'pino';
import type { Broker } from './core/broker.ts';
import type { Store } from './store/store.ts';

type Holdings = ReturnType<Broker['operations']['holdings']>;

/** How long the store may take to say whether it lost the data. */
const ASK_MS = 2000;

/** How often the store's session count is read while active (only sessions are not in the broker's memory). */
const CENSUS_MS = 15_000;

export class DataLossLedger {
  /** Times the store was found to have lost the data. */
  events = 0;
  /** Stored messages lost, as the brokers' memory counted them. */
  lostMessages = 0;
  private sessions: { count: number; at: number } | undefined;
  /** The epoch whose loss this process has already reported. */
  private reportedEpoch = 0;
  private census: NodeJS.Timeout | undefined;

  constructor(private readonly log: Logger) {}

  /** Counts the store's sessions now and then while `store` is the active broker's. */
  watch(store: Store): void {
    this.stopWatching();
    this.sessions = undefined;
    const take = (): void => {
      store.stats().then(
        (s) => (this.sessions = { count: s.sessions, at: Date.now() }),
        () => {},
      );
    };
    take();
    this.census = setInterval(take, CENSUS_MS);
    this.census.unref();
  }

  stopWatching(): void {
    clearInterval(this.census);
    this.census = undefined;
  }

  /** The active broker holding `h` was fenced: when its store lost the data, says what went. */
  async fenced(store: Store, h: Holdings): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const unanswered = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ASK_MS)));
    const lost = await Promise.race([store.dataLost?.().catch(() => false) ?? Promise.resolve(false), unanswered]);
    clearTimeout(timer);
    if (!lost) return;
    this.reportedEpoch = store.epoch;
    this.events++;
    this.lostMessages += h.messages;
    this.log.error(
      {
        epoch: store.epoch,
        lost: {
          messages: h.messages,
          queues: h.queues,
          subscriptions: h.subscriptions,
          retained: h.retained,
          sessions: this.sessions?.count,
        },
        sessionsCountedAgoMs: this.sessions ? Date.now() - this.sessions.at : undefined,
      },
      `the store lost this cluster's data: ${h.messages} stored messages in ${h.queues} queues, ${h.subscriptions} durable subscriptions and ${h.retained} retained messages are gone${this.sessions ? `, and ${this.sessions.count} sessions` : ''}`,
    );
  }

  /** This broker takes over with `epoch`: an epoch no higher than one seen before means the data was lost first. */
  takingOver(epoch: number, highestSeen: number): void {
    if (highestSeen === 0 || epoch > highestSeen || highestSeen === this.reportedEpoch) return;
    this.events++;
    this.log.error(
      { epoch, previousEpoch: highestSeen },
      `the store lost this cluster's data before this activation: its epoch went back from ${highestSeen} to ${epoch}; what the broker of epoch ${highestSeen} held is gone`,
    );
  }
}
