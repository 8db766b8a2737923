// PROVISIONED mode's per-shard limits: a one-second window per shard for records and bytes written,
// GetRecords calls and bytes read, as Kinesis counts them (a record or call over the limit in the
// current second is refused, and the caller retries).
export class RateWindow {
  private second = 0;
  private used = 0;

  constructor(private readonly perSecond: number) {}

  /** Takes `n` from this second's allowance; false (and nothing taken) when it does not fit. */
  take(n: number, now: number): boolean {
    const s = Math.floor(now / 1000);
    if (s !== this.second) {
      this.second = s;
      this.used = 0;
    }
    if (this.used + n > this.perSecond && this.used > 0) return false;
    this.used += n;
    return true;
  }
}

export interface ShardRates {
  records: RateWindow;
  writeBytes: RateWindow;
  reads: RateWindow;
  readBytes: RateWindow;
}
