/**
 * The host-wide budget of instances and memory, across engines. The manager
 * reserves before it boots anything and releases when an instance is gone.
 */
export class HostBudget {
  private instances = 0;
  private memoryMb = 0;

  constructor(private readonly limits: { maxInstances: number; maxMemoryMb: number }) {}

  /** Takes room for one instance of `memoryMb`, or returns false when it does not fit. */
  tryReserve(memoryMb: number): boolean {
    if (
      this.instances + 1 > this.limits.maxInstances ||
      this.memoryMb + memoryMb > this.limits.maxMemoryMb
    ) {
      return false;
    }
    this.instances += 1;
    this.memoryMb += memoryMb;
    return true;
  }

  /** Moves an existing reservation to a new size (a generic instance specialized to the function's memory). */
  tryResize(fromMb: number, toMb: number): boolean {
    if (this.memoryMb - fromMb + toMb > this.limits.maxMemoryMb) return false;
    this.memoryMb += toMb - fromMb;
    return true;
  }

  release(memoryMb: number) {
    this.instances = Math.max(0, this.instances - 1);
    this.memoryMb = Math.max(0, this.memoryMb - memoryMb);
  }

  /** Whether an instance of this size could ever fit, however much is evicted. */
  couldFit(memoryMb: number): boolean {
    return memoryMb <= this.limits.maxMemoryMb && this.limits.maxInstances >= 1;
  }

  usage() {
    return { instances: this.instances, memoryMb: this.memoryMb, ...this.limits };
  }
}
