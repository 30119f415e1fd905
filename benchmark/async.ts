import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { createCloudlessClient } from "../server/client/index";
import { startEmbeddedDatabase } from "../server/db/embedded";
import { createBenchUser } from "./deploy";
import { freePort, REPO_ROOT } from "./server";
import { round, summarize } from "./stats";

/**
 * The async section: `npm run benchmark:async`.
 *
 * 1. Enqueue throughput: 32 closed-loop callers POST async calls for a few
 *    seconds to a server whose workers are off (ASYNC_CONCURRENCY=0), so the
 *    figure is the 202 path alone (commit included); target ≥ 1,000/s.
 * 2. Enqueue-to-start on a warm function: one async call at a time, each
 *    awaited; the server's own queueWaitMs (job created → attempt started);
 *    target p50 ≤ 20 ms.
 * 3. 10,000 calls queued at concurrency 32 with workers on: time until all
 *    have succeeded, and their records checked by id: 0 lost, 0 duplicated
 *    (a second record only where a retry was recorded).
 *
 * Writes benchmark/results/async-latest.json and prints a markdown table.
 */
const CONCURRENCY = 32;
const quick = process.argv.includes("--quick");
const ENQUEUE_SECONDS = quick ? 2 : 8;
const LATENCY_SAMPLES = quick ? 30 : 200;
const COMPLETION_CALLS = quick ? 1000 : 10_000;

function log(line: string) {
  console.error(`[async bench] ${line}`);
}

async function startServer(env: Record<string, string>) {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      ...env,
      PORT: String(port),
      HOST: "127.0.0.1",
      NODE_ENV: "production",
      BASE_URL: `http://127.0.0.1:${port}`,
      SESSION_SECRET: "b".repeat(40),
    } as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d) => {
    output += d;
  });
  child.stderr!.on("data", (d) => {
    output += d;
  });
  await new Promise<void>((resolve, reject) => {
    const check = () => output.includes("Cloudless is running") && resolve();
    child.stdout!.on("data", check);
    child.once("exit", (code) => reject(new Error(`server exited ${code}:\n${output}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}

async function main() {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "cloudless-bench-async-"));
  await fs.chmod(root, 0o755);
  const pgPort = await freePort();
  const database = await startEmbeddedDatabase({
    dir: path.join(root, "pg"),
    port: pgPort,
    persistent: false,
  });
  const env = {
    DATABASE_URL: database.url,
    DATA_DIR: path.join(root, "data"),
    ENGINES: "docker",
    POOL_GENERIC_PER_RUNTIME: "1",
    ASYNC_MAX_QUEUED_PER_USER: "1000000",
  };
  const results: Record<string, unknown> = {
    measuredAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadAverage: os.loadavg() },
  };
  const db = new pg.Pool({ connectionString: database.url, max: 2 });
  try {
    // Phase 1: the 202 path alone.
    let server = await startServer({ ...env, ASYNC_CONCURRENCY: "0" });
    const user = await createBenchUser(database.url);
    const sdk = createCloudlessClient({ url: server.url, apiKey: user.apiKey });
    const fn = await sdk.functions.create.mutate({
      name: "async-bench",
      runtime: "node",
      handler: "async_bench.handler",
      memoryMb: 64,
      maxConcurrency: 8,
      codeBase64: Buffer.from(
        "exports.handler = (event) => ({ ok: true, n: event.n });\n",
      ).toString("base64"),
      fileName: "async_bench.js",
    });
    const call = (base: string, n: number) =>
      fetch(`${base}/api/function/${fn.userId}/${fn.handler}/docker`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${user.apiKey}`,
          "content-type": "application/json",
          "x-invocation-type": "async",
        },
        body: JSON.stringify({ n }),
      }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { invocationId: string },
      }));

    log(`enqueue throughput: ${CONCURRENCY} callers for ${ENQUEUE_SECONDS} s (workers off)`);
    let accepted = 0;
    let refused = 0;
    let seq = 0;
    const enqueueLatencies: number[] = [];
    const deadline = performance.now() + ENQUEUE_SECONDS * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < deadline) {
          const t = performance.now();
          const answer = await call(server.url, seq++);
          enqueueLatencies.push(performance.now() - t);
          if (answer.status === 202) accepted++;
          else refused++;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const { rows: queuedRows } = await db.query(`SELECT count(*)::int AS n FROM "AsyncInvocation"`);
    const latency = summarize(enqueueLatencies);
    results.enqueue = {
      concurrency: CONCURRENCY,
      perSecond: round(accepted / elapsed),
      accepted,
      refused,
      rowsQueued: queuedRows[0].n,
      latencyMs: { p50: latency.p50Ms, p99: latency.p99Ms },
      targetPerSecond: 1000,
    };
    log(
      `  ${round(accepted / elapsed)} 202s/s (${accepted} accepted, ${refused} refused, ${queuedRows[0].n} rows)`,
    );
    await server.stop();
    await db.query(`DELETE FROM "AsyncInvocation"`);
    await db.query(`DELETE FROM pgboss.job WHERE name = 'invocations'`);

    // Phase 2: enqueue → start on a warm function, one at a time.
    server = await startServer({ ...env, ASYNC_CONCURRENCY: "16" });
    const wait = async (id: string) => {
      for (;;) {
        const { rows } = await db.query(`SELECT state FROM "AsyncInvocation" WHERE id = $1`, [id]);
        if (rows[0]?.state === "succeeded") return;
        if (rows[0]?.state === "failed" || rows[0]?.state === "dead")
          throw new Error(`${id} ${rows[0].state}`);
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    for (let i = 0; i < 5; i++) await wait((await call(server.url, i)).body.invocationId); // warm up
    log(`enqueue → start: ${LATENCY_SAMPLES} sequential calls on a warm function`);
    const sampleIds: string[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const { body } = await call(server.url, i);
      await wait(body.invocationId);
      sampleIds.push(body.invocationId);
    }
    await new Promise((r) => setTimeout(r, 1000)); // records are written in batches
    const { rows: waits } = await db.query<{ queueWaitMs: number; start: string }>(
      `SELECT "queueWaitMs", start::text FROM "Invocation" WHERE id = ANY($1)`,
      [sampleIds],
    );
    const queueWait = summarize(waits.map((w) => w.queueWaitMs));
    results.enqueueToStart = {
      samples: waits.length,
      warm: waits.filter((w) => w.start === "warm").length,
      p50Ms: queueWait.p50Ms,
      p99Ms: queueWait.p99Ms,
      targetP50Ms: 20,
    };
    log(`  p50 ${queueWait.p50Ms} ms, p99 ${queueWait.p99Ms} ms`);

    // Phase 3: 10,000 calls queued at concurrency 32 while the workers run.
    log(`completion: ${COMPLETION_CALLS} calls at concurrency ${CONCURRENCY}`);
    await db.query(`DELETE FROM "AsyncInvocation"`);
    const ids: string[] = [];
    let next = 0;
    const began = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < COMPLETION_CALLS) {
          const n = next++;
          const answer = await call(server.url, n);
          if (answer.status !== 202) throw new Error(`enqueue answered ${answer.status}`);
          ids.push(answer.body.invocationId);
        }
      }),
    );
    const enqueuedMs = performance.now() - began;
    for (;;) {
      const { rows } = await db.query(
        `SELECT count(*) FILTER (WHERE state = 'succeeded')::int AS ok,
                count(*) FILTER (WHERE state IN ('failed', 'dead'))::int AS bad
         FROM "AsyncInvocation" WHERE id = ANY($1)`,
        [ids],
      );
      if (rows[0].ok + rows[0].bad === ids.length) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const doneMs = performance.now() - began;
    await server.stop(); // a clean stop writes every pending record
    const { rows: check } = await db.query(
      `SELECT
         (SELECT count(*)::int FROM "AsyncInvocation" WHERE id = ANY($1) AND state = 'succeeded') AS succeeded,
         (SELECT count(*)::int FROM "AsyncInvocation" WHERE id = ANY($1) AND attempts > 1) AS retried,
         (SELECT count(*)::int FROM "Invocation" WHERE "asyncId" = ANY($1)) AS records,
         (SELECT count(DISTINCT "asyncId")::int FROM "Invocation" WHERE "asyncId" = ANY($1)) AS called`,
      [ids],
    );
    const c = check[0];
    results.completion = {
      calls: ids.length,
      succeeded: c.succeeded,
      lost: ids.length - c.called,
      duplicated: c.records - c.called - c.retried,
      retried: c.retried,
      enqueueSeconds: round(enqueuedMs / 1000),
      completionSeconds: round(doneMs / 1000),
      completedPerSecond: round(ids.length / (doneMs / 1000)),
    };
    log(`  ${JSON.stringify(results.completion)}`);
  } finally {
    await db.end();
    await database.stop();
    await fs.rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }
  const out = path.join(
    REPO_ROOT,
    "benchmark/results",
    quick ? "async-quick.json" : "async-latest.json",
  );
  await fs.writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  const e = results.enqueue as { perSecond: number; latencyMs: { p50: number } };
  const s = results.enqueueToStart as { p50Ms: number; p99Ms: number };
  const d = results.completion as {
    calls: number;
    lost: number;
    duplicated: number;
    retried: number;
    completionSeconds: number;
  };
  console.log(
    [
      "| async | figure | target |",
      "|---|---:|---:|",
      `| enqueue throughput, concurrency ${CONCURRENCY} | ${e.perSecond.toLocaleString("en")} 202s/s (p50 ${e.latencyMs.p50} ms) | ≥ 1,000/s |`,
      `| enqueue → start, warm function | p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms | p50 ≤ 20 ms |`,
      `| ${d.calls.toLocaleString("en")} queued calls | done in ${d.completionSeconds} s; ${d.lost} lost, ${d.duplicated} duplicated (${d.retried} retried) | 0 lost, 0 duplicated |`,
    ].join("\n"),
  );
  log(`wrote ${out}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
