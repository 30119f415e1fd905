import type { TestApp } from "./app";
import type { Deployed, Tenant } from "./docker";
import { callOn, type EngineUnderTest } from "./engines";

/**
 * A bystander: another user's warm function called at a steady rate over
 * HTTP while a test attacks the platform, so the test can compare its
 * latency under attack with its latency before. Failed calls are kept too:
 * a victim call that fails is worse than a slow one.
 */
export class Bystander {
  private readonly samples: Array<{ at: number; ms: number; http: number }> = [];
  private running = false;
  private loop?: Promise<void>;

  constructor(
    private readonly engine: EngineUnderTest,
    private readonly app: TestApp,
    private readonly tenant: Tenant,
    private readonly fn: Deployed,
    private readonly intervalMs = 25,
  ) {}

  start() {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const at = performance.now();
        const { http, ms } = await callOn(this.engine, this.app, this.tenant, this.fn, {
          query: { n: "1" },
        });
        this.samples.push({ at, ms, http });
        await new Promise((r) => setTimeout(r, Math.max(0, this.intervalMs - ms)));
      }
    })();
  }

  async stop() {
    this.running = false;
    await this.loop;
  }

  /** Calls that started between two performance.now() readings. */
  between(from: number, to: number) {
    return this.samples.filter((s) => s.at >= from && s.at < to);
  }

  /** Waits `ms` and returns the calls made meanwhile. */
  async window(ms: number) {
    const from = performance.now();
    await new Promise((r) => setTimeout(r, ms));
    return this.between(from, performance.now());
  }
}

/** The 99th percentile (nearest rank) of latencies, ms. */
export function p99(samples: Array<{ ms: number }>) {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  if (sorted.length === 0) throw new Error("No samples");
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!;
}
