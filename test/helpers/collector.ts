// Collects what a client library hands to a callback and lets a test await the n-th item, with a
// bounded wait.
export class Collector<T> {
  readonly items: T[] = [];
  private waiters: Array<() => void> = [];

  push = (x: T): void => {
    this.items.push(x);
    for (const w of this.waiters.splice(0)) w();
  };

  async nth(n: number, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.items.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for item ${n} (have ${this.items.length})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.items[n - 1] as T;
  }
}
