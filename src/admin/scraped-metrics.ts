// Metrics read at scrape time, one series per object (a stream, a delivery stream): a counter whose
// value the object keeps (prom-client counters only go up by `inc`), and a gauge.
import { Counter, Gauge, type Registry } from 'prom-client';

/** Each object's label value and reading, at scrape time. */
export type Readings = () => Array<[string, number]>;

export function scrapedCounter(registry: Registry, name: string, help: string, label: string, read: Readings): void {
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset();
      for (const [value, n] of read()) if (n > 0) this.inc({ [label]: value }, n);
    },
  });
}

export function scrapedGauge(registry: Registry, name: string, help: string, label: string, read: Readings): void {
  new Gauge({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset();
      for (const [value, n] of read()) this.set({ [label]: value }, n);
    },
  });
}
