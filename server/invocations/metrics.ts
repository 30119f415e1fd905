import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { RunnerManager } from "../../runners/manager";
import type { InvocationRecorder } from "./recorder";

/**
 * Prometheus metrics: calls by engine, start kind and status, latency
 * histograms, and pool gauges read from the runner manager at scrape time.
 */
export class InvocationMetrics {
  readonly registry = new Registry();
  private readonly calls: Counter<"engine" | "start" | "status">;
  private readonly latency: Histogram<"engine" | "start">;

  constructor(runners: RunnerManager, recorder: InvocationRecorder) {
    this.calls = new Counter({
      name: "cloudless_invocations_total",
      help: "Function calls that ran, by engine, start kind and exit status",
      labelNames: ["engine", "start", "status"],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: "cloudless_invocation_duration_seconds",
      help: "End-to-end latency of a call inside Cloudless (queue, start and execution)",
      labelNames: ["engine", "start"],
      // From warm (sub-millisecond) to cold VM boots (seconds).
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    // Gauges read the manager at scrape time; registering them is all they need.
    new Gauge({
      name: "cloudless_instances",
      help: "Instances by engine, runtime and state (generic, idle, busy)",
      labelNames: ["engine", "runtime", "state"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const row of runners.stats().instances) {
          for (const state of ["generic", "idle", "busy"] as const) {
            this.set({ engine: row.engine, runtime: row.runtime, state }, row[state]);
          }
        }
      },
    });
    new Gauge({
      name: "cloudless_engine_available",
      help: "1 when the engine can run functions",
      labelNames: ["engine"],
      registers: [this.registry],
      collect() {
        for (const engine of ["docker", "nanos"] as const) {
          this.set({ engine }, runners.engineStatus(engine).available ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: "cloudless_invocation_records_pending",
      help: "Invocation records answered but not yet written to the database",
      registers: [this.registry],
      collect() {
        this.set(recorder.pending);
      },
    });
    new Counter({
      name: "cloudless_invocation_records_dropped_total",
      help: "Invocation records dropped because the buffer for the database (RECORDS_BUFFER_MB) was full",
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(recorder.dropped);
      },
    });
    new Gauge({
      name: "cloudless_budget_memory_mb",
      help: "Memory reserved by instances, and the host budget",
      labelNames: ["kind"],
      registers: [this.registry],
      collect() {
        const usage = runners.stats().budget;
        this.set({ kind: "used" }, usage.memoryMb);
        this.set({ kind: "limit" }, usage.maxMemoryMb);
      },
    });
  }

  observe(engine: string, start: string, status: number, totalMs: number) {
    this.calls.inc({ engine, start, status: String(status) });
    this.latency.observe({ engine, start }, totalMs / 1000);
  }
}
