import { transition } from "../instance-state";
import type { Engine, Instance, RuntimeName } from "../types";
import { destroyWithin } from "./destroy-within";

/**
 * Generic prewarmed instances of one engine and runtime (OpenWhisk's stem
 * cells): booted with the agent ready and no code, taken by the first call of
 * a function that has no idle instance, and topped up in the background.
 */
export class GenericStock {
  private readonly ready: Instance[] = [];
  private booting = 0;
  private stopped = false;

  constructor(
    private readonly engine: Engine,
    readonly runtime: RuntimeName,
    private readonly options: {
      target: number;
      memoryMb: number;
      /** Reserves host budget for one more instance; false = no room, do not boot. */
      reserve(memoryMb: number): boolean;
      release(memoryMb: number): void;
      log(line: string): void;
    },
  ) {}

  get size() {
    return this.ready.length;
  }

  get memoryMb() {
    return this.options.memoryMb;
  }

  /**
   * A generic instance, or undefined when none is ready; refills in the
   * background. One whose memory is fixed (a VM's, set at boot) is only
   * handed to a function of that size.
   */
  take(memoryMb?: number): Instance | undefined {
    const next = this.ready.at(-1);
    if (next && memoryMb !== undefined && next.memoryMb !== memoryMb && !next.resize) {
      return undefined;
    }
    const instance = this.ready.pop();
    this.refill();
    return instance;
  }

  /** Boots instances until the target is met (or the budget says no). */
  refill() {
    if (this.stopped || !this.engine.status().available) return;
    while (this.ready.length + this.booting < this.options.target) {
      if (!this.options.reserve(this.options.memoryMb)) return;
      this.booting += 1;
      this.engine
        .launch({ runtime: this.runtime, memoryMb: this.options.memoryMb, network: false })
        .then(
          (instance) => {
            if (this.stopped) {
              void this.discard(instance);
              return;
            }
            this.ready.push(instance);
          },
          (error: Error) => {
            this.options.release(this.options.memoryMb);
            this.options.log(
              `[${this.engine.name}/${this.runtime}] prewarm boot failed: ${error.message}`,
            );
          },
        )
        .finally(() => {
          this.booting -= 1;
        });
    }
  }

  /** Removes the oldest generic instance to make room; false when there is none. */
  async evictOne(): Promise<boolean> {
    const instance = this.ready.shift();
    if (!instance) return false;
    await this.discard(instance);
    return true;
  }

  /** The engine is gone: its ready instances are dropped; refill() starts again once it is back. */
  async purge() {
    await Promise.all(this.ready.splice(0).map((i) => this.discard(i)));
  }

  private async discard(instance: Instance) {
    instance.state = transition(instance.state, "remove");
    this.options.release(instance.memoryMb);
    await destroyWithin(instance);
  }

  async stop() {
    this.stopped = true;
    await Promise.all(this.ready.splice(0).map((i) => this.discard(i)));
  }
}
