// Topic routing: which queues a message sent to a topic lands in. Subscriptions and
// virtual-topic consumer queues register routes under their topic pattern in the wildcard index;
// a route may carry a selector (applied as the message enters the queue) and a no-local key.
import type { Queue } from './queue.ts';
import type { Message } from './message.ts';
import type { Selector } from './selector/index.ts';
import { TopicIndex } from './topic-index.ts';

export interface Route {
  readonly queue: Queue;
  readonly pattern: string;
  readonly selector?: Selector | undefined;
  /** Messages published under this client/connection key are not routed here (no-local). */
  readonly noLocalKey?: string | undefined;
  /** A subscriber allowed only part of the pattern: the topics it may read. */
  readonly mayRead?: ((topic: string) => boolean) | undefined;
}

/** ActiveMQ's default virtual-topic naming: topic `VirtualTopic.X`, queue `Consumer.<group>.VirtualTopic.X`. */
const VIRTUAL_TOPIC_QUEUE = /^Consumer\.([^.]+)\.(VirtualTopic\..+)$/;

export function virtualTopicOf(queueName: string): string | undefined {
  return VIRTUAL_TOPIC_QUEUE.exec(queueName)?.[2];
}

export class Router {
  private readonly index = new TopicIndex<Route>();

  get size(): number {
    return this.index.size;
  }

  add(route: Route): void {
    this.index.add(route.pattern, route);
  }

  remove(route: Route): void {
    this.index.remove(route.pattern, route);
  }

  /** The queues a topic message goes to, each once. */
  route(message: Message, publisherKey: string | undefined): Queue[] {
    const out: Queue[] = [];
    const seen = new Set<Queue>();
    for (const r of this.index.match(message.destination.name)) {
      if (seen.has(r.queue)) continue;
      if (r.noLocalKey !== undefined && r.noLocalKey === publisherKey) continue;
      if (r.mayRead && !r.mayRead(message.destination.name)) continue;
      if (r.selector && !r.selector.matches({ message, deliveryCount: 0 })) continue;
      seen.add(r.queue);
      out.push(r.queue);
    }
    return out;
  }
}
