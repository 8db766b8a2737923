// Repeated and cron-scheduled messages, with ActiveMQ's properties: AMQ_SCHEDULED_PERIOD (ms
// between deliveries), AMQ_SCHEDULED_REPEAT (deliveries after the first) and AMQ_SCHEDULED_CRON
// (a cron expression, seconds field optional; each time it fires the message is delivered, repeat
// + 1 times, period apart), with AMQ_SCHEDULED_DELAY before the first (the message's deliverAt).
// A scheduled message is a record in the store (a session record under `schedule:`), written
// before the publisher hears "accepted", so it survives restarts and failover. Each delivery is a
// copy with a new id and without the scheduling properties, published in the same store batch
// that advances the record, so a crash neither loses nor repeats a delivery. A one-off delay
// without period, repeat or cron stays an ordinary delayed message.
import { randomUUID } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';
import type { Logger } from 'pino';
import { InvalidMessageError } from '../shared/errors.ts';
import type { SessionRecord } from '../store/store.ts';
import type { Message, MessageInput, PropertyValue } from './message.ts';

export const SCHEDULE_PREFIX = 'schedule:';
const PERIOD = 'AMQ_SCHEDULED_PERIOD';
const REPEAT = 'AMQ_SCHEDULED_REPEAT';
const CRON = 'AMQ_SCHEDULED_CRON';
const DELAY = 'AMQ_SCHEDULED_DELAY';
/** setTimeout's limit; later times are waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What a schedule record holds (JSON: the body in base64). */
interface ScheduleData {
  message: Omit<Message, 'body'> & { body: string };
  cron?: string;
  delayMs: number;
  periodMs: number;
  repeat: number;
  /** Deliveries left in the current round (the first, then repeats). */
  left: number;
  /** Wall-clock ms of the next delivery; 0 when the schedule is done. */
  next: number;
}

export interface SchedulerHost {
  /** Publishes `input`, writing `session` in the same store batch. */
  publish(input: MessageInput, session: SessionRecord): Promise<void>;
  putSession(session: SessionRecord): Promise<void>;
  deleteSession(id: string): Promise<void>;
  listSessions(prefix: string): Promise<SessionRecord[]>;
  log: Logger;
  now(): number;
}

function numberProperty(m: Message, name: string): number {
  const v = m.properties[name];
  if (v === undefined) return 0;
  const n = typeof v === 'number' ? v : Number(String(v).trim());
  if (!Number.isFinite(n) || n < 0)
    throw new InvalidMessageError(`${name} must be a number of 0 or more, not ${String(v)}`, { property: name });
  return Math.floor(n);
}

function nextCron(cron: string, after: number): number {
  try {
    return CronExpressionParser.parse(cron, { currentDate: new Date(after) })
      .next()
      .getTime();
  } catch (err) {
    throw new InvalidMessageError(`${CRON} is not a valid cron expression (${(err as Error).message}): ${cron}`, { cron });
  }
}

/** True when `m` asks to be repeated or cron-scheduled (then the scheduler takes it, not a queue). */
export function isRepeating(m: Message): boolean {
  const p = m.properties;
  return p[CRON] !== undefined || (p[REPEAT] !== undefined && String(p[REPEAT]) !== '0');
}

export class Scheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly host: SchedulerHost) {}

  /** Re-arms the schedules a broker before this one left in the store. */
  async start(): Promise<number> {
    const records = await this.host.listSessions(SCHEDULE_PREFIX);
    for (const r of records) {
      const d = r.data as unknown as ScheduleData;
      if (d.next > 0) this.arm(r.id, d);
      else await this.host.deleteSession(r.id);
    }
    return records.length;
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** Takes a repeating or cron message: stores its schedule (resolving once stored) and arms it. */
  async add(m: Message): Promise<void> {
    const now = this.host.now();
    const cron = m.properties[CRON] === undefined ? undefined : String(m.properties[CRON]);
    const delayMs = numberProperty(m, DELAY);
    const periodMs = numberProperty(m, PERIOD);
    const repeat = numberProperty(m, REPEAT);
    const next = cron !== undefined ? nextCron(cron, now) + delayMs : m.deliverAt > now ? m.deliverAt : now;
    const properties: Record<string, PropertyValue> = {};
    for (const [k, v] of Object.entries(m.properties)) if (![PERIOD, REPEAT, CRON, DELAY].includes(k)) properties[k] = v;
    const data: ScheduleData = {
      message: { ...m, properties, body: Buffer.from(m.body).toString('base64') },
      delayMs,
      periodMs,
      repeat,
      left: repeat + 1,
      next,
    };
    if (cron !== undefined) data.cron = cron;
    const id = `${SCHEDULE_PREFIX}${randomUUID()}`;
    await this.host.putSession(this.record(id, data));
    this.arm(id, data);
  }

  private record(id: string, data: ScheduleData): SessionRecord {
    return { id, data: data as unknown as Record<string, unknown>, updatedAt: this.host.now(), expiresAt: 0 };
  }

  private arm(id: string, data: ScheduleData): void {
    if (this.closed) return;
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, data.next - this.host.now()));
    const t = setTimeout(() => {
      this.timers.delete(id);
      if (this.host.now() < data.next) this.arm(id, data);
      else void this.fire(id, data);
    }, wait);
    t.unref();
    this.timers.set(id, t);
  }

  /** Delivers one copy, advancing the record in the same batch; then arms the next or ends. */
  private async fire(id: string, data: ScheduleData): Promise<void> {
    const after = this.advance(data);
    const { id: _id, body, timestamp: _t, userId: _u, deliverAt: _d, ...rest } = data.message;
    const input: MessageInput = { ...rest, body: Buffer.from(body, 'base64') };
    try {
      await this.host.publish(input, this.record(id, after));
    } catch (err) {
      // The store is away or the destination refuses: try this delivery again shortly.
      this.host.log.warn({ err, schedule: id }, 'scheduled delivery failed; retrying in 1 s');
      this.arm(id, { ...data, next: this.host.now() + 1000 });
      return;
    }
    if (after.next > 0) this.arm(id, after);
    else await this.host.deleteSession(id).catch(() => {});
  }

  /** The schedule after one delivery. */
  private advance(d: ScheduleData): ScheduleData {
    const after = { ...d, left: d.left - 1 };
    if (after.left > 0) after.next = d.next + d.periodMs;
    else if (d.cron !== undefined) {
      after.left = d.repeat + 1;
      after.next = nextCron(d.cron, Math.max(this.host.now(), d.next)) + d.delayMs;
    } else after.next = 0;
    return after;
  }
}
