// Sequence numbers of FIFO queues and topics: 20 digits, always increasing, taken from the clock
// (microseconds) so that they keep increasing after a takeover by another broker.
export class SequenceNumbers {
  private last = 0n;

  next(): string {
    const fromClock = BigInt(Date.now()) * 1_000_000n;
    this.last = fromClock > this.last ? fromClock : this.last + 1n;
    return this.last.toString().padStart(20, '0');
  }
}
