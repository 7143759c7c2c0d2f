/** Delayed answers, remembered so that close() can cancel them instead of waiting them out. */
export class PendingTimers {
  private readonly timers = new Set<NodeJS.Timeout>();

  after(delayMs: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      action();
    }, delayMs);
    this.timers.add(timer);
  }

  cancelAll(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
