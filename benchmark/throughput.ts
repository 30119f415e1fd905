import { readFileSync } from "node:fs";
import type { RuntimeName } from "../runners/types";
import { failureOf, InvokeClient, type Target } from "./client";
import type { EngineBench } from "./engines/index";
import type { Records } from "./records";
import { round, summarize } from "./stats";

export interface ThroughputResult {
  concurrency: number;
  /** Calls answered 200 per second of the timed window. */
  perSecond: number;
  /** Calls answered 200 in the timed window (every call started in it finishes in it). */
  requests: number;
  /** Invocation rows written for exactly those calls (matched by invocation id). */
  recorded: number;
  /** Calls that failed (transport, non-200, wrong result), not counted in `requests`. */
  errors: number;
  firstError?: string;
  /** Start kinds of the counted calls: all warm when the pool had scaled before the window. */
  starts: Record<string, number>;
  latency: { p50Ms: number; p99Ms: number };
  /**
   * The server's own timings for the same calls (p50): waiting for a free
   * instance, the agent round trip, and the manager's total. End-to-end p50
   * minus `totalMs` is what HTTP, lookup, auth and the client add.
   */
  server: { queueMs: number; execMs: number; totalMs: number };
  durationMs: number;
  /**
   * CPU time per call, in µs: the server process (hot path), the function's
   * instances together (agents), and the benchmark's own client.
   */
  cpuPerCallUs: { server: number | null; instances: number; client: number };
  /** Specialized instances of the function when the window started (what the load kept busy). */
  instances: number;
}

interface Window {
  ok: number;
  ids: string[];
  latencies: number[];
  timings: Array<{ queueMs: number; execMs: number; totalMs: number }>;
  starts: Record<string, number>;
  errors: number;
  firstError?: string;
  durationMs: number;
}

/**
 * Closed-loop load: `concurrency` workers, each on its own kept-alive
 * connection, send the next call when the last answers, until the deadline;
 * calls in flight at the deadline are awaited and counted, so every call the
 * server saw is in the numbers and its record can be checked by id.
 */
async function load(
  client: InvokeClient,
  target: Target,
  concurrency: number,
  durationMs: number,
): Promise<Window> {
  const window: Window = {
    ok: 0,
    ids: [],
    latencies: [],
    timings: [],
    starts: {},
    errors: 0,
    durationMs: 0,
  };
  const started = performance.now();
  const deadline = started + durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const result = await client.call(target);
      const failure = failureOf(result);
      if (failure) {
        window.errors += 1;
        window.firstError ??= failure;
        continue;
      }
      const body = result.body!;
      window.ok += 1;
      window.ids.push(body.invocationId);
      window.latencies.push(result.ms);
      window.timings.push(body.timings);
      window.starts[body.start] = (window.starts[body.start] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  window.durationMs = performance.now() - started;
  return window;
}

/** utime + stime of a process in ms, from /proc (Linux); null elsewhere. */
function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may contain spaces: start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    // USER_HZ is 100 on Linux x86-64.
    return ticks * 10;
  } catch {
    return null;
  }
}

/**
 * Warm throughput at each concurrency: untimed warm-ups until the pool stops
 * growing, then the timed window, then the records of exactly its calls,
 * counted once the recorder has flushed them.
 */
export async function throughputPhase(options: {
  baseUrl: string;
  apiKey: string;
  engine: EngineBench;
  runtime: RuntimeName;
  target: Target;
  levels: number[];
  durationMs: number;
  warmupMs: number;
  serverPid: number;
  records: Records;
  progress(line: string): void;
}): Promise<{ results: ThroughputResult[]; invocationIds: string[] }> {
  const results: ThroughputResult[] = [];
  const allIds: string[] = [];
  for (const concurrency of options.levels) {
    const client = new InvokeClient(
      options.baseUrl,
      options.apiKey,
      options.engine.name,
      concurrency,
    );
    const ready = async () =>
      (await options.engine.instances(options.runtime)).filter((i) => i.state === "ready").length;
    try {
      // The pool grows to what the load really keeps busy at once (often fewer
      // instances than callers: the server's loop, not the pool, queues them).
      // Warm up until one whole warm-up second needed no new instance, so the
      // window measures warm calls and not boots.
      for (let attempt = 1; ; attempt++) {
        const warmup = await load(client, options.target, concurrency, options.warmupMs);
        allIds.push(...warmup.ids);
        if (warmup.errors > 0) {
          throw new Error(`Warming up at concurrency ${concurrency} failed: ${warmup.firstError}`);
        }
        if (warmup.ok === (warmup.starts.warm ?? 0)) break;
        if (attempt === 15) {
          options.progress(
            `  c=${concurrency}: the pool still grew after 15 warm-ups; measuring anyway`,
          );
          break;
        }
      }
      // Let the warm-ups' records be written before the window, so their write does not land in it.
      await options.records.waitForIds(allIds);

      const instances = await ready();
      const instancesBefore = await options.engine.cpuMs(options.runtime);
      const cpuBefore = processCpuMs(options.serverPid);
      const clientBefore = process.cpuUsage();
      const window = await load(client, options.target, concurrency, options.durationMs);
      const cpuAfter = processCpuMs(options.serverPid);
      const clientCpu = process.cpuUsage(clientBefore);
      const instancesAfter = await options.engine.cpuMs(options.runtime);
      // Instances that started during the window count from zero (their boot included).
      let instancesCpu = 0;
      for (const [id, ms] of instancesAfter) instancesCpu += ms - (instancesBefore.get(id) ?? 0);
      allIds.push(...window.ids);
      const { recorded, waitedMs } = await options.records.waitForIds(window.ids);
      const latency = summarize(window.latencies);
      const perCall = (ms: number) =>
        round((ms * 1000) / Math.max(1, window.ok + window.errors), 1);
      const result: ThroughputResult = {
        concurrency,
        perSecond: Math.round(window.ok / (window.durationMs / 1000)),
        requests: window.ok,
        recorded,
        errors: window.errors,
        firstError: window.firstError,
        starts: window.starts,
        latency: { p50Ms: latency.p50Ms, p99Ms: latency.p99Ms },
        server: {
          queueMs: summarize(window.timings.map((t) => t.queueMs)).p50Ms,
          execMs: summarize(window.timings.map((t) => t.execMs)).p50Ms,
          totalMs: summarize(window.timings.map((t) => t.totalMs)).p50Ms,
        },
        durationMs: Math.round(window.durationMs),
        instances,
        cpuPerCallUs: {
          server: cpuBefore === null || cpuAfter === null ? null : perCall(cpuAfter - cpuBefore),
          instances: perCall(instancesCpu),
          client: perCall((clientCpu.user + clientCpu.system) / 1000),
        },
      };
      results.push(result);
      const notWarm = window.ok - (window.starts.warm ?? 0);
      options.progress(
        `  c=${concurrency}: ${result.perSecond}/s, ${result.requests} calls, ${recorded} recorded (after ${Math.round(waitedMs)} ms), ${result.errors} errors${notWarm ? `, ${notWarm} not warm` : ""}, p50 ${latency.p50Ms} ms (server ${result.server.totalMs}), p99 ${latency.p99Ms} ms`,
      );
    } finally {
      client.close();
    }
  }
  return { results, invocationIds: allIds };
}
