/**
 * Per-agent limit of requests in flight (the deployment guide's semaphore, built in). A request
 * over the limit is refused at once with -41011 / 503 + Retry-After rather than queued, so an
 * overloaded replica sheds load that nginx can send to another one.
 */
export class ConcurrencyLimit {
  private inFlight = 0;
  constructor(readonly limit: number) {}

  tryAcquire(): boolean {
    if (this.inFlight >= this.limit) return false;
    this.inFlight++;
    return true;
  }

  release(): void {
    if (this.inFlight > 0) this.inFlight--;
  }

  get active(): number {
    return this.inFlight;
  }
}
