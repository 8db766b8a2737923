// `npm run bench -- <scenario> [options]`: runs one load scenario and prints one JSON line.
// Benchmarks live here, never in tests: figures go in notes, compared before and after a change.
// Each scenario is imported when it runs, so one scenario's dependencies (the failover scenario
// loads every protocol's client libraries) do not weigh on another's figures.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { setBenchEncryption } from './lib/encryption.ts';

/**
 * A fleet needs more open files than a shell allows by default: when the soft limit is under
 * `needed`, this command runs again under prlimit with it raised, and true is returned once that
 * run is over (the broker it starts inherits the limit). Past the hard limit that takes
 * CAP_SYS_RESOURCE; without it the run stops here and says so.
 */
function raiseFileLimit(needed: number): boolean {
  const m = /Max open files\s+(\d+)\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  if (!m || Number(m[1]) >= needed || process.env.JUNCTION_BENCH_RAISED) return false;
  const r = spawnSync(
    'prlimit',
    [`--nofile=${needed}:${Math.max(needed, Number(m[2]))}`, process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    {
      stdio: ['inherit', 'inherit', 'pipe'],
      env: { ...process.env, JUNCTION_BENCH_RAISED: '1' },
    },
  );
  const refused = r.status !== 0 && /prlimit: failed to set/.test(String(r.stderr));
  if (refused || r.error || r.status === null) {
    throw new Error(
      `${needed} open files are needed (each device is a socket in this process and one in the broker), but the limit is ${m[1]} ` +
        `(hard ${m[2]}) and raising it was refused (it takes CAP_SYS_RESOURCE): connect fewer devices, or run where the limit can be raised`,
    );
  }
  process.stderr.write(String(r.stderr));
  process.exitCode = r.status;
  return true;
}

const program = new Command()
  .name('bench')
  .description('Junction load scenarios (one JSON line per run)')
  .option('--encrypted', "Junction seals what it stores (security.encryption, a throwaway key); before the scenario's name")
  .hook('preAction', (cmd) => setBenchEncryption(Boolean(cmd.opts().encrypted)));

program
  .command('core')
  .description('enqueue -> dispatch -> ack through the broker core (1 producer, 1 consumer)')
  .option('--seconds <n>', 'measured duration', '10')
  .option('--size <bytes>', 'body size', '1024')
  .option('--window <n>', 'publishes the producer keeps outstanding', '1000')
  .option('--prefetch <n>', 'consumer prefetch window', '1000')
  .option('--persistent <bool>', 'persistent messages (written to the store)', 'true')
  .option('--ack-later', 'ack in a later turn, as a remote consumer does (the in-flight mark reaches the store)')
  .option('--store <kind>', 'store: memory | redis', 'memory')
  .option('--redis-url <url>', 'Redis for --store redis (default $REDIS_URL or redis://127.0.0.1:6379)')
  .action(async (o: Record<string, string>) => {
    const result = await (
      await import('./scenarios/core.ts')
    ).runCoreScenario({
      seconds: Number(o.seconds),
      size: Number(o.size),
      window: Number(o.window),
      prefetch: Number(o.prefetch),
      persistent: o.persistent !== 'false',
      ackLater: Boolean(o.ackLater),
      store: o.store as 'memory' | 'redis',
      redisUrl: o.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  });

program
  .command('backlog')
  .description('fill one queue with persistent messages, then drain it; reports rates and the largest heap')
  .option('--messages <n>', 'messages to queue before draining', '1000000')
  .option('--size <bytes>', 'body size', '1024')
  .option('--store <kind>', 'store: memory | redis', 'redis')
  .option('--redis-url <url>', 'Redis for --store redis (default $REDIS_URL or redis://127.0.0.1:6379)')
  .action(async (o: Record<string, string>) => {
    const result = await (
      await import('./scenarios/backlog.ts')
    ).runBacklogScenario({
      messages: Number(o.messages),
      size: Number(o.size),
      store: o.store as 'memory' | 'redis',
      redisUrl: o.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  });

program
  .command('mqtt')
  .description(
    'MQTT: QoS 0 fan-in (4 -> 1), QoS 1 (1 -> 1), QoS 1 and QoS 0 fan-out (1 -> 50), QoS 1 at 1,000/s: rate, p50/p99; Junction, and Mosquitto / ActiveMQ when their anchors run',
  )
  .option('--seconds <n>', 'measured duration of each shape', '5')
  .option('--size <bytes>', 'payload size', '256')
  .option('--store <kind>', "Junction's store: embedded (redis-server child) | memory", 'embedded')
  .option('--mosquitto-port <port>', 'MQTT port of the Mosquitto anchor', '41883')
  .option('--activemq-port <port>', 'MQTT port of the ActiveMQ anchor', '21883')
  .option('--activemq-stomp-port <port>', 'STOMP port of the ActiveMQ anchor (mqtt-stomp)', '26613')
  .option('--junction-port <port>', 'drive a Junction already listening here (MQTT) instead of starting one')
  .option('--junction-stomp-port <port>', "with --junction-port: that broker's STOMP port (mqtt-stomp)")
  .option('--junction-amqp-port <port>', "with --junction-port: that broker's AMQP port (mqtt-amqp)")
  .option('--versions <list>', 'MQTT protocol versions to drive, in turn: 3.1.1, 5 or 3.1.1,5', '3.1.1,5')
  .option(
    '--shapes <list>',
    'shapes to drive: fan-in, qos1, fan-out, fan-out0, rate1k, mqtt-stomp, mqtt-amqp',
    'fan-in,qos1,fan-out,fan-out0,rate1k,mqtt-stomp,mqtt-amqp',
  )
  .option('--no-anchors', 'drive Junction only')
  .action(async (o: Record<string, string | boolean>) => {
    const { SHAPES } = await import('./scenarios/mqtt.ts');
    const shapes = String(o.shapes)
      .split(',')
      .map((x) => x.trim());
    const unknown = shapes.filter((x) => !(SHAPES as readonly string[]).includes(x));
    if (unknown.length) throw new Error(`--shapes takes ${SHAPES.join(', ')}: ${unknown.join(', ')}`);
    const versions = String(o.versions)
      .split(',')
      .map((v) => (v.trim() === '5' ? 5 : v.trim() === '3.1.1' ? 4 : Number.NaN));
    if (versions.some((v) => Number.isNaN(v))) throw new Error(`--versions takes 3.1.1, 5 or both: ${o.versions}`);
    const scenario: Parameters<typeof import('./scenarios/mqtt.ts').runMqttScenario>[0] = {
      seconds: Number(o.seconds),
      size: Number(o.size),
      store: o.store as 'embedded' | 'memory',
      mosquittoPort: Number(o.mosquittoPort),
      activemqPort: Number(o.activemqPort),
      activemqStompPort: Number(o.activemqStompPort),
      versions: versions as Array<4 | 5>,
      shapes: shapes as (typeof SHAPES)[number][],
      anchors: o.anchors !== false,
    };
    if (o.junctionPort) scenario.junctionPort = Number(o.junctionPort);
    if (o.junctionStompPort) scenario.junctionStompPort = Number(o.junctionStompPort);
    if (o.junctionAmqpPort) scenario.junctionAmqpPort = Number(o.junctionAmqpPort);
    process.stdout.write(`${JSON.stringify(await (await import('./scenarios/mqtt.ts')).runMqttScenario(scenario))}\n`);
  });

program
  .command('failover')
  .description(
    'two broker processes on one Redis: SIGKILL, then SIGTERM, the active mid-stream (STOMP, MQTT, AMQP in turn); takeover times, lost, duplicated',
  )
  .option('--rounds <n>', 'rounds per signal', '5')
  .option('--messages <n>', 'messages per round', '400')
  .action(async (o: Record<string, string>) => {
    const result = await (
      await import('./scenarios/failover.ts')
    ).runFailoverScenario({ rounds: Number(o.rounds), messages: Number(o.messages) });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  });

program
  .command('soak')
  .description(
    'mixed MQTT/STOMP/AMQP traffic with a slow consumer and a runaway producer: RSS over time, acknowledged, delivered, dropped, lost',
  )
  .option('--seconds <n>', 'duration of the traffic', '600')
  .option('--watermark <size>', "the broker's limits.memoryHighWatermark", '0.4')
  .option('--mqtt-rate <n>', 'MQTT QoS 1 messages per second', '2000')
  .action(async (o: Record<string, string>) => {
    const result = await (
      await import('./scenarios/soak.ts')
    ).runSoakScenario({ seconds: Number(o.seconds), watermark: o.watermark as string, mqttRate: Number(o.mqttRate) });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  });

program
  .command('mqtt-idle')
  .description(
    "a fleet of idle MQTT devices (CONNECT + one QoS 1 subscription each): the broker's resident memory per device, connects/s, memory back after they leave; Mosquitto too when its anchor runs",
  )
  .option('--connections <n>', 'devices to connect', '10000')
  .option('--subscribe <bool>', 'each device subscribes to its command topic', 'true')
  .option('--version <level>', "the devices' MQTT version: 3.1.1 or 5", '3.1.1')
  .option('--tls', 'devices connect over TLS (Junction only)')
  .option('--client-certs', 'over TLS, each device signs in with a client certificate (tls.identityFrom), no password')
  .option('--store <kind>', "Junction's store: embedded (redis-server child) | memory", 'embedded')
  .option('--mosquitto-port <port>', 'MQTT port of the Mosquitto anchor', '41883')
  .option('--no-anchors', 'drive Junction only')
  .action(async (o: Record<string, string | boolean>) => {
    const connections = Number(o.connections);
    if (raiseFileLimit(connections + 2048)) return;
    const result = await (
      await import('./scenarios/mqtt-idle.ts')
    ).runMqttIdleScenario({
      connections,
      subscribe: o.subscribe !== 'false',
      store: o.store as 'embedded' | 'memory',
      version: o.version === '5' ? 5 : 4,
      tls: o.tls === true,
      clientCerts: o.clientCerts === true,
      mosquittoPort: Number(o.mosquittoPort),
      anchors: o.anchors !== false,
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  });

program
  .command('stomp')
  .description(
    'persistent queue throughput over STOMP (1 producer with receipts, 1 client-individual consumer): ' +
      'Junction, and ActiveMQ when its anchor runs',
  )
  .option('--seconds <n>', 'measured duration', '10')
  .option('--size <bytes>', 'body size', '1024')
  .option('--window <n>', 'SENDs awaiting their RECEIPT at once', '100')
  .option('--store <kind>', "Junction's store: embedded (redis-server child) | memory", 'embedded')
  .option('--activemq-port <port>', 'STOMP port of the ActiveMQ anchor', '26613')
  .option('--junction-port <port>', 'drive a Junction already listening on this STOMP port (e.g. one under a profiler)')
  .action(async (o: Record<string, string>) => {
    const result = await (
      await import('./scenarios/stomp.ts')
    ).runStompScenario({
      ...(o.junctionPort ? { junctionPort: Number(o.junctionPort) } : {}),
      seconds: Number(o.seconds),
      size: Number(o.size),
      window: Number(o.window),
      store: o.store as 'embedded' | 'memory',
      activemqPort: Number(o.activemqPort),
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  });

program
  .command('openwire')
  .description(
    "persistent queue 1->1 (sync and async sends) and topic 1->10 over OpenWire with ActiveMQ's Java client: " +
      'Junction, ActiveMQ when its anchor runs, and Junction’s STOMP queue as the reference',
  )
  .option('--seconds <n>', 'measured duration of each shape', '10')
  .option('--size <bytes>', 'body size', '1024')
  .option('--store <kind>', "Junction's store: embedded (redis-server child) | memory", 'embedded')
  .option('--activemq-port <port>', 'OpenWire port of the ActiveMQ anchor', '26616')
  .action(async (o: Record<string, string>) => {
    const result = await (
      await import('./scenarios/openwire.ts')
    ).runOpenWireScenario({
      seconds: Number(o.seconds),
      size: Number(o.size),
      store: o.store as 'embedded' | 'memory',
      activemqPort: Number(o.activemqPort),
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  });

program
  .command('sqs')
  .description(
    'SQS end to end over keep-alive HTTP (SendMessageBatch of 10; Receive 10 with long polling + DeleteMessageBatch), standard and FIFO, ' +
      'the STOMP persistent queue on the same process as the reference, long-poll wake-up latency, memory per idle long poll',
  )
  .option('--seconds <n>', 'measured duration of each throughput run', '10')
  .option('--size <bytes>', 'message body size', '256')
  .option('--producers <n>', 'concurrent SendMessageBatch loops', '4')
  .option('--consumers <n>', 'concurrent Receive + DeleteMessageBatch loops', '4')
  .option('--idle-polls <n>', 'long polls held at once for the memory figure (0 skips it)', '10000')
  .option('--store <kind>', "Junction's store: embedded (redis-server child) | memory", 'embedded')
  .action(async (o: Record<string, string>) => {
    const result = await (
      await import('./scenarios/sqs.ts')
    ).runSqsScenario({
      seconds: Number(o.seconds),
      size: Number(o.size),
      producers: Number(o.producers),
      consumers: Number(o.consumers),
      idlePolls: Number(o.idlePolls),
      store: o.store as 'embedded' | 'memory',
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  });

program
  .command('firehose')
  .description(
    'records into delivery streams (PutRecordBatch producers, then MQTT devices at QoS 1 into a topic rule), out as gzipped objects: ' +
      'records/s, data freshness p50/p99, records missing (must be 0), peak RSS',
  )
  .option('--seconds <n>', 'measured duration of each source', '10')
  .option('--size <bytes>', 'record size', '256')
  .option('--producers <n>', 'concurrent PutRecordBatch loops (500 records each call)', '4')
  .option('--publishers <n>', 'MQTT devices publishing into the topic rule', '100')
  .option('--in-flight <n>', 'QoS 1 publishes each device keeps unacknowledged', '10')
  .option('--interval <s>', "the streams' buffering interval (seconds; 0 delivers at once)", '1')
  .option('--destination <kind>', 'directory | s3 (s3rver on loopback)', 'directory')
  .action(async (o: Record<string, string>) => {
    const result = await (
      await import('./scenarios/firehose.ts')
    ).runFirehoseScenario({
      seconds: Number(o.seconds),
      size: Number(o.size),
      producers: Number(o.producers),
      publishers: Number(o.publishers),
      inFlight: Number(o.inFlight),
      intervalSeconds: Number(o.interval),
      destination: o.destination as 'directory' | 's3',
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  });

program
  .command('stream')
  .description(
    'a stream of 4 shards: PutRecords producers (500 records a call) and live GetRecords readers, then a replay from TRIM_HORIZON; ' +
      "RabbitMQ 3.10's stream queues beside it when its anchor runs: records/s in and out, end-to-end p50/p99, missing (must be 0), replay records/s and peak RSS",
  )
  .option('--seconds <n>', 'measured duration of the live phase', '10')
  .option('--size <bytes>', 'record size', '256')
  .option('--producers <n>', 'concurrent producers (500 records a call / confirm batch)', '4')
  .option('--shards <n>', "the stream's shards", '4')
  .option('--replay <n>', 'records in the stream before the replay reads it all', '1000000')
  .action(async (o: Record<string, string>) => {
    const result = await (
      await import('./scenarios/stream.ts')
    ).runStreamScenario({
      seconds: Number(o.seconds),
      size: Number(o.size),
      producers: Number(o.producers),
      shards: Number(o.shards),
      replay: Number(o.replay),
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  });

program
  .command('amqp')
  .description(
    'durable queue throughput over AMQP 1.0 (unsettled sender, receiver with credit 1000): Junction, and RabbitMQ when its anchor runs',
  )
  .option('--seconds <n>', 'measured duration', '10')
  .option('--size <bytes>', 'body size', '1024')
  .option('--store <kind>', "Junction's store: embedded (redis-server child) | memory", 'embedded')
  .option('--rabbitmq-port <port>', 'AMQP port of the RabbitMQ anchor', '35672')
  .option('--junction-port <port>', 'drive a Junction already listening here instead of starting one')
  .action(async (o: Record<string, string>) => {
    const result = await (
      await import('./scenarios/amqp.ts')
    ).runAmqpScenario({
      seconds: Number(o.seconds),
      size: Number(o.size),
      store: o.store as 'embedded' | 'memory',
      rabbitmqPort: Number(o.rabbitmqPort),
      ...(o.junctionPort ? { junctionPort: Number(o.junctionPort) } : {}),
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  });

program
  .command('hostile')
  .description(
    "a normal MQTT client's throughput and latency alone and beside each attack (pre-auth floods, an MQTT 5 property flood, a stalled subscriber, idle sockets), with the broker's peak memory",
  )
  .option('--seconds <n>', 'measured duration per attack', '5')
  .option('--rate <n>', "the normal client's QoS 1 publishes per second", '1000')
  .option('--store <kind>', "Junction's store: embedded (redis-server child) | memory", 'embedded')
  .action(async (o: Record<string, string>) => {
    const result = await (
      await import('./scenarios/hostile.ts')
    ).runHostileScenario({ seconds: Number(o.seconds), rate: Number(o.rate), store: o.store as 'embedded' | 'memory' });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  });

await program.parseAsync(process.argv);
