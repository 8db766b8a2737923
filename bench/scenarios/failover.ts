// Failover: two Junction processes on one redis-server (the pair the failover tests use, from
// test/helpers), with STOMP, MQTT and AMQP streams in turn. Each round sends numbered persistent
// messages through whichever broker serves, and midway SIGKILLs (then, in the second half, SIGTERMs)
// the active; the stopped broker comes back as the standby for the next round. Takeover is the time
// from the signal to the standby's "broker running" log line (same clock). Prints one JSON line:
// takeover median and max after SIGKILL and after SIGTERM, messages acknowledged, lost, duplicated.
import { BrokerProcess } from '../../test/helpers/broker-process.ts';
import { amqpDriver, mqttDriver, runFailoverStream, stompDriver, type FailoverDriver } from '../../test/helpers/failover-clients.ts';
import { startRedis } from '../../test/helpers/redis-server.ts';

export interface FailoverScenario {
  /** Rounds per signal (SIGKILL, then SIGTERM). */
  rounds: number;
  /** Messages per round (the signal comes after half of them are acknowledged). */
  messages: number;
}

type Port = 'stomp' | 'mqtt' | 'amqp';
const DRIVERS: Array<[Port, FailoverDriver]> = [
  ['stomp', stompDriver('/queue/bench.failover')],
  ['mqtt', mqttDriver('bench/failover', 'bench-failover-consumer')],
  ['amqp', amqpDriver('queue://bench.failover.amqp')],
];

function summary(ms: number[]): { medianMs: number; maxMs: number; samples: number[] } {
  const sorted = [...ms].sort((a, b) => a - b);
  return { medianMs: sorted[Math.floor((sorted.length - 1) / 2)] ?? 0, maxMs: sorted[sorted.length - 1] ?? 0, samples: ms };
}

export async function runFailoverScenario(s: FailoverScenario): Promise<Record<string, unknown>> {
  const redis = await startRedis();
  let pair: BrokerProcess[] = [];
  const totals = { acknowledged: 0, lost: 0, duplicates: 0 };
  const takeovers: Record<'SIGKILL' | 'SIGTERM', number[]> = { SIGKILL: [], SIGTERM: [] };
  try {
    const first = await BrokerProcess.start('bench-a', redis.url, { cluster: 'bench-failover' });
    await first.waitActive();
    pair = [first, await BrokerProcess.start('bench-b', redis.url, { cluster: 'bench-failover' })];
    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      for (let round = 0; round < s.rounds; round++) {
        const [port, driver] = DRIVERS[round % DRIVERS.length] as [Port, FailoverDriver];
        const [active, standby] = pair as [BrokerProcess, BrokerProcess];
        const r = await runFailoverStream(driver, [active.ports[port], standby.ports[port]], {
          count: s.messages,
          at: Math.floor(s.messages / 2),
          prefix: `${signal}-${round}`,
          midway: async () => {
            const from = standby.lines.length;
            const at = Date.now();
            active.signal(signal);
            takeovers[signal].push(Number((await standby.waitActive(30_000, from)).time) - at);
          },
        });
        await active.exited;
        totals.acknowledged += r.acknowledged;
        totals.lost += r.lost.length;
        totals.duplicates += r.duplicates;
        pair = [standby, await BrokerProcess.start(active.name, redis.url, { cluster: 'bench-failover', ports: active.ports })];
        process.stderr.write(`${signal} round ${round + 1} (${port}): takeover ${takeovers[signal].at(-1)} ms, lost ${r.lost.length}\n`);
      }
    }
  } finally {
    await Promise.all(pair.map((b) => b.stop()));
    await redis.stop();
  }
  return {
    scenario: 'failover',
    rounds: s.rounds,
    messages: s.messages,
    kill: summary(takeovers.SIGKILL),
    term: summary(takeovers.SIGTERM),
    ...totals,
  };
}
