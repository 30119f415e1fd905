import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { createCloudlessClient } from "../server/client/index";
import { createBenchUser } from "./deploy";
import { type AsyncResults, ASYNC_CALLERS as CALLERS } from "./report";
import { type Server, startDatabase, startServer } from "./server";
import { round, summarize } from "./stats";

/**
 * The async section of `npm run benchmark` (alone: `npm run benchmark:async`),
 * on the Docker engine, with a database and servers of its own:
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
 */
export async function asyncPhase(options: {
  quick: boolean;
  progress: (line: string) => void;
  /** Undo steps, run by the caller at the end, on failure and on Ctrl-C. */
  cleanup: { add(name: string, run: () => Promise<unknown>): void };
}): Promise<AsyncResults> {
  const { cleanup } = options;
  const log = options.progress;
  const enqueueSeconds = options.quick ? 2 : 8;
  const latencySamples = options.quick ? 30 : 200;
  const completionCalls = options.quick ? 1000 : 10_000;
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "cloudless-bench-async-"));
  cleanup.add("remove the async temp folder", () =>
    fs.rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }),
  );
  // The embedded PostgreSQL runs as user postgres when we are root: it must traverse this folder.
  await fs.chmod(root, 0o755);
  const database = await startDatabase(path.join(root, "pg"));
  cleanup.add("stop the async PostgreSQL", () => database.stop());
  const dataDir = path.join(root, "data");
  await fs.mkdir(dataDir);
  // One server at a time; the cleanup stops whichever runs.
  let running: Server | undefined;
  cleanup.add("stop the async server", async () => running?.stop());
  const launch = async (asyncConcurrency: number) => {
    running = await startServer({
      engine: "docker",
      dataDir,
      databaseUrl: database.url,
      genericPerRuntime: 1,
      env: {
        ASYNC_CONCURRENCY: String(asyncConcurrency),
        ASYNC_MAX_QUEUED_PER_USER: "1000000",
      },
      progress: log,
    });
    return running;
  };
  const stop = async () => {
    const server = running;
    running = undefined;
    await server?.stop();
  };
  const db = new pg.Pool({ connectionString: database.url, max: 2 });
  cleanup.add("close the async database pool", () => db.end());
  // Phase 1: the 202 path alone.
  let server = await launch(0);
  const user = await createBenchUser(database.url);
  const sdk = createCloudlessClient({ url: server.url, apiKey: user.apiKey });
  const fn = await sdk.functions.create.mutate({
    name: "async-bench",
    runtime: "node",
    handler: "async_bench.handler",
    memoryMb: 64,
    maxConcurrency: 8,
    codeBase64: Buffer.from("exports.handler = (event) => ({ ok: true, n: event.n });\n").toString(
      "base64",
    ),
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

  log(
    `Async enqueue: ${CALLERS} callers for ${enqueueSeconds} s (workers off, ASYNC_CONCURRENCY=0)`,
  );
  let accepted = 0;
  let refused = 0;
  let seq = 0;
  const enqueueLatencies: number[] = [];
  const deadline = performance.now() + enqueueSeconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
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
  const enqueue: AsyncResults["enqueue"] = {
    concurrency: CALLERS,
    seconds: round(elapsed),
    perSecond: round(accepted / elapsed),
    accepted,
    refused,
    rowsQueued: queuedRows[0].n,
    latencyMs: { p50: latency.p50Ms, p99: latency.p99Ms },
  };
  log(
    `  ${round(accepted / elapsed)} 202s/s (${accepted} accepted, ${refused} refused, ${queuedRows[0].n} rows)`,
  );
  await stop();
  await db.query(`DELETE FROM "AsyncInvocation"`);
  await db.query(`DELETE FROM pgboss.job WHERE name = 'invocations'`);

  // Phase 2: enqueue → start on a warm function, one at a time.
  server = await launch(16);
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
  log(`Async enqueue → start: ${latencySamples} sequential calls on a warm function`);
  const sampleIds: string[] = [];
  for (let i = 0; i < latencySamples; i++) {
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
  const enqueueToStart: AsyncResults["enqueueToStart"] = {
    samples: waits.length,
    warm: waits.filter((w) => w.start === "warm").length,
    p50Ms: queueWait.p50Ms,
    p99Ms: queueWait.p99Ms,
  };
  log(`  p50 ${queueWait.p50Ms} ms, p99 ${queueWait.p99Ms} ms`);

  // Phase 3: 10,000 calls queued at concurrency 32 while the workers run.
  log(`Async completion: ${completionCalls} calls queued at concurrency ${CALLERS}`);
  await db.query(`DELETE FROM "AsyncInvocation"`);
  const ids: string[] = [];
  let next = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (next < completionCalls) {
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
  await stop(); // a clean stop writes every pending record
  const { rows: check } = await db.query(
    `SELECT
       (SELECT count(*)::int FROM "AsyncInvocation" WHERE id = ANY($1) AND state = 'succeeded') AS succeeded,
       (SELECT count(*)::int FROM "AsyncInvocation" WHERE id = ANY($1) AND attempts > 1) AS retried,
       (SELECT count(*)::int FROM "Invocation" WHERE "asyncId" = ANY($1)) AS records,
       (SELECT count(DISTINCT "asyncId")::int FROM "Invocation" WHERE "asyncId" = ANY($1)) AS called`,
    [ids],
  );
  const c = check[0];
  const completion: AsyncResults["completion"] = {
    calls: ids.length,
    succeeded: c.succeeded,
    lost: ids.length - c.called,
    duplicated: c.records - c.called - c.retried,
    retried: c.retried,
    enqueueSeconds: round(enqueuedMs / 1000),
    completionSeconds: round(doneMs / 1000),
    completedPerSecond: round(ids.length / (doneMs / 1000)),
  };
  log(
    `  ${completion.succeeded} succeeded in ${completion.completionSeconds} s; ${completion.lost} lost, ${completion.duplicated} duplicated, ${completion.retried} retried`,
  );
  return { enqueue, enqueueToStart, completion };
}
