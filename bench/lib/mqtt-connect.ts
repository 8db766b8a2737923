// An mqtt.js client of a benchmark: connected (no reconnects, a clean session unless told) before
// it is handed over.
import mqtt, { type MqttClient } from 'mqtt';

export async function connectMqtt(port: number, id: string, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { clientId: id, reconnectPeriod: 0, clean: true, ...opts });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}
