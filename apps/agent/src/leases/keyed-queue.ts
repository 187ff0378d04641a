/**
 * Runs tasks one at a time per key, in the order they were queued; tasks of different
 * keys run concurrently. A task that throws does not stop the ones queued after it.
 */
export class KeyedQueue<K> {
  private readonly tails = new Map<K, Promise<void>>();

  /** Queues `task` behind every earlier task of `key`; resolves or rejects with its result. */
  run<T>(key: K, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with queued or running tasks. */
  get busyKeys(): K[] {
    return [...this.tails.keys()];
  }

  /** Resolves once every task queued so far (for any key) has settled. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}
