// The measuring window of a throughput scenario: a warm-up, then `seconds` during which the
// scenario counts what it receives and records each message's latency.
import * as hdr from 'hdr-histogram-js';

export interface Measured {
  msgsPerSec: number;
  latencyUs: { p50: number; p99: number };
}

export class Measurement {
  measuring = false;
  private received = 0;
  private readonly latency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });

  /** A message arrived that was sent at `sentAt` (performance.now() of the sender). */
  record(sentAt: number): void {
    if (!this.measuring) return;
    this.received++;
    this.latency.recordValue(Math.max(1, Math.round((performance.now() - sentAt) * 1000)));
  }

  /** Waits out the warm-up and the measured seconds; returns the rate and latency percentiles. */
  async run(seconds: number, warmupMs = 2000): Promise<Measured> {
    await new Promise((r) => setTimeout(r, warmupMs));
    this.measuring = true;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    this.measuring = false;
    const elapsed = (performance.now() - t0) / 1000;
    return {
      msgsPerSec: Math.round(this.received / elapsed),
      latencyUs: { p50: this.latency.getValueAtPercentile(50), p99: this.latency.getValueAtPercentile(99) },
    };
  }
}
