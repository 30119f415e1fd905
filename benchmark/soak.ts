import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { EngineName } from "../runners/types";
import { createCloudlessClient } from "../server/client/index";
import { failureOf, InvokeClient, type Target } from "./client";
import { createBenchUser, Deployer } from "./deploy";
import { Records } from "./records";
import { REPO_ROOT, startDatabase, startServer } from "./server";
import { round, summarize } from "./stats";

/**
 * `npm run soak [-- --engine docker|nanos] [--calls N] [--concurrency C]`:
 * a long run of warm calls to one public function through the real server
 * (child process, its own embedded PostgreSQL and data folder, as the
 * benchmark starts it), then the checks: no errors, one record per call, and
 * the server's RSS at the end of the run at most 1.1 × its RSS at the start,
 * after a warm-up (medians of samples, see SoakResult.rssMiB).
 * Defaults: 100,000 calls on Docker and 10,000 on Nanos, concurrency 32, after
 * a warm-up of 30,000 and 5,000.
 * Prints a summary and writes benchmark/results/soak-<timestamp>.json.
 */
const { values } = parseArgs({
  options: {
    engine: { type: "string", multiple: true },
    calls: { type: "string" },
    concurrency: { type: "string", default: "32" },
    "warmup-calls": { type: "string" },
  },
});
const engines = (values.engine ?? ["docker", "nanos"]) as EngineName[];
const concurrency = Number(values.concurrency);
const DEFAULT_CALLS: Record<EngineName, number> = { docker: 100_000, nanos: 10_000 };
/**
 * Calls before RSS is measured, long enough for the server's heaps to reach
 * their working size: after 10,000 Docker calls RSS still rose 1.26× over the
 * next 100,000, after 30,000 it stayed flat over 300,000; on Nanos 1,000 left
 * a 1.27× rise, 5,000 none.
 */
const DEFAULT_WARMUP_CALLS: Record<EngineName, number> = { docker: 30_000, nanos: 5_000 };
const RSS_LIMIT = 1.1;

const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);

interface SoakResult {
  engine: EngineName;
  calls: number;
  concurrency: number;
  warmupCalls: number;
  errors: number;
  firstError?: string;
  /** Rows whose id is one of the counted calls' invocation ids. */
  recorded: number;
  durationS: number;
  perSecond: number;
  latency: { p50Ms: number; p99Ms: number; maxMs: number };
  /**
   * The server's RSS, sampled every 500 ms during the counted run: medians of
   * the first and the last fifth of the samples, and their ratio. Single
   * readings swing ±25 % with the garbage collector; medians show a trend.
   */
  rssMiB: {
    afterWarmup: number;
    after: number;
    ratio: number;
    max: number;
    samples: number;
    /** Median of each fifth of the samples, first to last: the trend. */
    fifths: number[];
  };
  /** Start kinds of the counted calls. */
  starts: Record<string, number>;
  passed: boolean;
}

/** The server process's resident memory, from /proc. */
async function rssMiB(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  return round(kb / 1024, 1);
}

/** Reads the process's RSS every 500 ms until stopped. */
function sampleRss(pid: number) {
  const samples: number[] = [];
  const timer = setInterval(() => {
    rssMiB(pid).then(
      (mib) => samples.push(mib),
      () => {},
    );
  }, 500);
  return {
    stop() {
      clearInterval(timer);
      const fifth = Math.max(1, Math.floor(samples.length / 5));
      // The last fifth takes the remainder, so it ends with the run.
      const fifths = [0, 1, 2, 3, 4].map((i) =>
        median(samples.slice(i * fifth, i === 4 ? undefined : (i + 1) * fifth)),
      );
      const [start, end] = [fifths[0]!, fifths[4]!];
      return {
        fifths,
        afterWarmup: start,
        after: end,
        ratio: round(end / start, 3),
        max: Math.max(...samples),
        samples: samples.length,
      };
    },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** `count` calls, `concurrency` at a time; every answer is checked. */
async function drive(client: InvokeClient, target: Target, count: number) {
  const ids: string[] = [];
  const latencies: number[] = [];
  const starts: Record<string, number> = {};
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next += 1;
        const result = await client.call(target);
        const failure = failureOf(result);
        if (failure) {
          errors += 1;
          firstError ??= failure;
          continue;
        }
        ids.push(result.body!.invocationId);
        latencies.push(result.ms);
        starts[result.body!.start] = (starts[result.body!.start] ?? 0) + 1;
      }
    }),
  );
  return { ids, latencies, starts, errors, firstError, ms: performance.now() - started };
}

async function soak(engine: EngineName): Promise<SoakResult> {
  const calls = Number(values.calls ?? DEFAULT_CALLS[engine]);
  const warmupCalls = Number(values["warmup-calls"] ?? DEFAULT_WARMUP_CALLS[engine]);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `cloudless-soak-${engine}-`));
  await fs.chmod(dir, 0o755);
  const database = await startDatabase(path.join(dir, "postgres"));
  try {
    const server = await startServer({
      engine,
      dataDir: path.join(dir, "data"),
      databaseUrl: database.url,
      genericPerRuntime: 1,
      // Images and saved VMs are content-addressed: reuse those the tests built.
      env:
        engine === "nanos"
          ? {
              NANOS_CACHE_DIR:
                process.env.NANOS_CACHE_DIR ?? path.join(os.tmpdir(), "cloudless-nanos-test-cache"),
            }
          : {},
      progress: log,
    });
    try {
      const user = await createBenchUser(database.url);
      const deployer = new Deployer(server.url, user.apiKey);
      const fn = await deployer.create("python", concurrency);
      // Public, as the seed's open URL: no API key lookup on the path.
      await createCloudlessClient({
        url: server.url,
        apiKey: user.apiKey,
      }).functions.updateSettings.mutate({ id: fn.id, settings: { isPublic: true } });
      const target = { userId: user.userId, handler: fn.handler };
      const client = new InvokeClient(server.url, user.apiKey, engine, concurrency);
      log(`${engine}: warm-up, ${warmupCalls} calls at concurrency ${concurrency}`);
      const warmup = await drive(client, target, warmupCalls);
      if (warmup.errors > 0) throw new Error(`Warm-up failed: ${warmup.firstError}`);
      log(`${engine}: ${calls} calls at concurrency ${concurrency}`);
      const rss = sampleRss(server.pid);
      const run = await drive(client, target, calls);
      const memory = rss.stop();
      client.close();
      const records = new Records(database.url);
      const { recorded } = await records.waitForIds(run.ids, 15_000);
      await records.close();
      const latency = summarize(run.latencies);
      const result: SoakResult = {
        engine,
        calls,
        concurrency,
        warmupCalls,
        errors: run.errors,
        firstError: run.firstError,
        recorded,
        durationS: round(run.ms / 1000, 1),
        perSecond: Math.round(run.ids.length / (run.ms / 1000)),
        latency: { p50Ms: latency.p50Ms, p99Ms: latency.p99Ms, maxMs: latency.maxMs },
        rssMiB: memory,
        starts: run.starts,
        passed: run.errors === 0 && recorded === calls && memory.ratio <= RSS_LIMIT,
      };
      await server.stop();
      return result;
    } catch (error) {
      await server.stop();
      throw error;
    }
  } finally {
    await database.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const results: SoakResult[] = [];
for (const engine of engines) results.push(await soak(engine));
for (const r of results) {
  console.log(
    [
      `${r.engine}: ${r.calls} warm calls at concurrency ${r.concurrency} in ${r.durationS} s (${r.perSecond}/s)`,
      `  errors ${r.errors}${r.firstError ? ` (first: ${r.firstError})` : ""}; records ${r.recorded}/${r.calls}`,
      `  latency p50 ${r.latency.p50Ms} ms, p99 ${r.latency.p99Ms} ms, max ${r.latency.maxMs} ms; starts ${JSON.stringify(r.starts)}`,
      `  server RSS (median of ${r.rssMiB.samples} samples' first and last fifth, after a ${r.warmupCalls}-call warm-up) ${r.rssMiB.afterWarmup} MiB, then ${r.rssMiB.after} MiB (${r.rssMiB.ratio}×, limit ${RSS_LIMIT}×; max ${r.rssMiB.max} MiB; by fifth ${r.rssMiB.fifths.join(", ")})`,
      `  ${r.passed ? "PASSED" : "FAILED"}`,
    ].join("\n"),
  );
}
const file = path.join(
  REPO_ROOT,
  "benchmark/results",
  `soak-${new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19)}Z.json`,
);
await fs.writeFile(file, `${JSON.stringify({ results }, null, 2)}\n`);
console.log(`Wrote ${path.relative(REPO_ROOT, file)}`);
process.exit(results.every((r) => r.passed) ? 0 : 1);
