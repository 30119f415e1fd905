import type { Engine } from "./types";

/** How often a daemon-backed engine is probed: a lost engine is noticed within about this long. */
export const ENGINE_WATCH_INTERVAL_MS = 1000;

export interface EngineWatchEvents {
  /** The engine stopped answering: what it ran is gone or about to be. */
  lost(reason: string): void;
  /** The engine answers again and was started anew (images, network, leftovers). */
  back(): void;
}

/**
 * Probes one engine that has a `check()` (a daemon such as dockerd) on a
 * timer, one probe at a time, and reports when it goes away and comes back.
 * A call that finds its instance gone can ask for a probe at once
 * (`checkNow`) instead of waiting for the next tick.
 */
export class EngineWatch {
  private timer?: NodeJS.Timeout;
  private inFlight?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly engine: Engine & Required<Pick<Engine, "check">>,
    private readonly events: EngineWatchEvents,
    private readonly intervalMs = ENGINE_WATCH_INTERVAL_MS,
  ) {}

  start() {
    this.schedule();
  }

  /** One probe now (shared with one already running). */
  checkNow(): Promise<void> {
    this.inFlight ??= this.probe().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async probe() {
    const before = this.engine.status().available;
    const after = await this.engine.check();
    if (this.stopped) return;
    if (before && !after.available) this.events.lost(after.reason);
    if (!before && after.available) this.events.back();
  }

  private schedule() {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.checkNow().finally(() => this.schedule());
    }, this.intervalMs);
    // The watch alone never keeps the process alive.
    this.timer.unref();
  }

  /** Stops probing; a probe in progress (perhaps a start() building images) is not waited for. */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
