// Dead-letter queue redrive as SQS does it: StartMessageMoveTask moves a dead-letter queue's
// messages back to the queues they came from (or to one destination queue), at most
// MaxNumberOfMessagesPerSecond, until the queue holds no more ready messages or the task is
// cancelled; ListMessageMoveTasks reports the recent tasks of a queue. Tasks live in the active
// broker's memory: a takeover ends a running one (what it moved stays moved).
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Broker } from '../../../src/core/broker.ts';
import { AwsError } from '../errors.ts';

/** How many messages a task moves per second when the request names no rate. */
const DEFAULT_RATE = 500;
/** Tasks remembered per source queue (the newest first), as SQS lists up to 10. */
const KEPT = 10;

export interface MoveTask {
  TaskHandle: string;
  Status: 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';
  SourceArn: string;
  DestinationArn?: string;
  MaxNumberOfMessagesPerSecond?: number;
  ApproximateNumberOfMessagesMoved: number;
  ApproximateNumberOfMessagesToMove: number;
  FailureReason?: string;
  StartedTimestamp: number;
}

export class MoveTasks {
  private readonly bySource = new Map<string, MoveTask[]>();
  private readonly handles = new Map<string, { task: MoveTask; source: string }>();
  private closed = false;

  constructor(
    private readonly broker: Broker,
    private readonly log: Logger,
  ) {}

  start(source: string, sourceArn: string, destination: { name: string; arn: string } | undefined, rate: number | undefined): string {
    const tasks = this.bySource.get(source) ?? [];
    if (tasks.some((t) => t.Status === 'RUNNING' || t.Status === 'CANCELLING')) {
      throw new AwsError(
        'AWS.SimpleQueueService.UnsupportedOperation',
        'There is already a message movement task running on this queue.',
        400,
        true,
        'UnsupportedOperation',
      );
    }
    const task: MoveTask = {
      TaskHandle: Buffer.from(JSON.stringify({ id: randomUUID(), source: sourceArn })).toString('base64url'),
      Status: 'RUNNING',
      SourceArn: sourceArn,
      ...(destination ? { DestinationArn: destination.arn } : {}),
      ...(rate !== undefined ? { MaxNumberOfMessagesPerSecond: rate } : {}),
      ApproximateNumberOfMessagesMoved: 0,
      ApproximateNumberOfMessagesToMove: this.broker.getQueue(source)?.ready ?? 0,
      StartedTimestamp: Date.now(),
    };
    tasks.unshift(task);
    tasks.splice(KEPT);
    this.bySource.set(source, tasks);
    this.handles.set(task.TaskHandle, { task, source });
    void this.run(task, source, destination?.name, rate ?? DEFAULT_RATE);
    return task.TaskHandle;
  }

  list(source: string, max: number): MoveTask[] {
    return (this.bySource.get(source) ?? []).slice(0, max);
  }

  cancel(handle: string): number {
    const found = this.handles.get(handle);
    if (!found) throw new AwsError('ResourceNotFoundException', 'The task handle does not name a message movement task.', 404, true);
    if (found.task.Status !== 'RUNNING') {
      throw new AwsError(
        'AWS.SimpleQueueService.UnsupportedOperation',
        `The task is ${found.task.Status}, not RUNNING.`,
        400,
        true,
        'UnsupportedOperation',
      );
    }
    found.task.Status = 'CANCELLING';
    return found.task.ApproximateNumberOfMessagesMoved;
  }

  close(): void {
    this.closed = true;
  }

  private async run(task: MoveTask, source: string, destination: string | undefined, rate: number): Promise<void> {
    try {
      for (;;) {
        if (this.closed || task.Status === 'CANCELLING') break;
        const started = Date.now();
        const moved =
          destination !== undefined
            ? await this.broker.operations.moveMessages(source, destination, { limit: rate })
            : (await this.broker.operations.redrive(source, rate)).moved;
        task.ApproximateNumberOfMessagesMoved += moved;
        if (moved < rate) break;
        await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - started))));
      }
      task.Status = task.Status === 'CANCELLING' || this.closed ? 'CANCELLED' : 'COMPLETED';
    } catch (err) {
      task.Status = 'FAILED';
      task.FailureReason = err instanceof Error ? err.message : String(err);
      this.log.warn({ err, source }, 'SQS message move task failed');
    }
  }
}
