import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { RunnerConfig } from "../runners/config";
import type { EngineName, RuntimeName } from "../runners/types";
import { loadConfig } from "../server/config/config";
import { asyncPhase } from "./async";
import { baselinePhase } from "./baseline";
import { InvokeClient } from "./client";
import { clusterPhase } from "./cluster";
import { type BenchFunction, createBenchUser, Deployer } from "./deploy";
import { type EngineBench, engineAvailability, engineBench, KNOWN_ENGINES } from "./engines/index";
import { renderHtml } from "./html";
import { firstCallPhase, type PhaseContext, targetOf, waitForSettled, warmPhase } from "./latency";
import { machineInfo, roundLoad } from "./machine";
import { asyncTable, clusterTable, readmeSection, replaceSection } from "./markdown";
import { idleMemory } from "./memory";
import { type Options, parseOptions, type Task } from "./options";
import { Records } from "./records";
import {
  type BenchResults,
  printReport,
  type RuntimeResults,
  type Shutdown,
  toJson,
} from "./report";
import { type RunReport, readRunReport, writeRunReport } from "./run-report";
import { type Database, REPO_ROOT, type Server, startDatabase, startServer } from "./server";
import { throughputPhase } from "./throughput";

/**
 * `npm run benchmark [-- --engine docker] [--json FILE]`: for every engine
 * available here (or the ones named), starts its own Cloudless (child
 * process, embedded PostgreSQL, temp data folder), deploys a trivial function
 * per runtime through the SDK, measures every phase through the HTTP route,
 * prints a table, and removes everything it made, also on Ctrl-C and on
 * failure. Then writes one report of all engines: results/<timestamp>.json
 * and a self-contained .html, copied to latest.*.
 */
let currentEngine: string | undefined;
const log = (line: string) =>
  console.log(
    `${new Date().toISOString().slice(11, 19)} ${currentEngine ? `[${currentEngine}] ` : ""}${line}`,
  );

/** Undo steps, run newest first exactly once (normal end, failure or Ctrl-C). */
class Cleanup {
  private readonly steps: Array<{ name: string; run: () => Promise<unknown> }> = [];
  private running?: Promise<void>;

  add(name: string, run: () => Promise<unknown>) {
    if (this.running) {
      // Made after a Ctrl-C started the cleanup (the run was mid-step): undo it now.
      void run().catch((error) => log(`cleanup: ${name} failed: ${(error as Error).message}`));
      return;
    }
    this.steps.push({ name, run });
  }

  /** Also between engines: once done, steps added later (the next engine's) wait for the next run. */
  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.splice(0).reverse()) {
        try {
          await step.run();
        } catch (error) {
          log(`cleanup: ${step.name} failed: ${(error as Error).message}`);
        }
      }
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }
}

const cleanup = new Cleanup();
let interrupted = false;
let interruptedAt = 0;

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (interrupted) {
      // npm and tsx relay the terminal's Ctrl-C to us again within milliseconds:
      // only a later one is the user insisting. The exit handler in server.ts
      // still signals the children.
      if (performance.now() - interruptedAt > 2000) process.exit(130);
      return;
    }
    interrupted = true;
    interruptedAt = performance.now();
    log(
      `${signal}: stopping the server and removing what the benchmark made (Ctrl-C again to quit at once)…`,
    );
    void cleanup.run().then(() => process.exit(130));
  });
}

// A stray error (a dropped connection's event, say) must still leave nothing behind.
process.on("uncaughtException", (error) => {
  console.error(`\nBenchmark failed: ${error.stack ?? error}`);
  void cleanup.run().finally(() => process.exit(1));
});

/** Every phase against one engine, with a database, data folder and servers of its own. */
async function benchEngine(options: Options, engineName: EngineName): Promise<BenchResults> {
  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg();
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "cloudless-bench-"));
  // Retries: a container being removed may still hold its socket folder for a moment.
  cleanup.add("remove the temp folder", () =>
    fs.rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }),
  );
  // The embedded PostgreSQL runs as user postgres when we are root: it must traverse this folder.
  await fs.chmod(root, 0o755);
  const dataDir = path.join(root, "data");
  await fs.mkdir(dataDir);
  // The server derives its installation id (container labels) from DATA_DIR: compute it the same way.
  const { ownerId } = loadConfig({
    DATA_DIR: dataDir,
    SESSION_SECRET: "x".repeat(32),
    ENGINES: "",
  }).runners;
  const engine = engineBench(engineName, { dataDir, ownerId });
  log(`Temp folder ${root}`);

  log("Starting the embedded PostgreSQL…");
  const database = await startDatabase(path.join(root, "pg"));
  cleanup.add("stop PostgreSQL", () => database.stop());
  const records = new Records(database.url);
  cleanup.add("close the database pool", () => records.close());

  const runtimes: Partial<Record<RuntimeName, RuntimeResults>> = {};
  for (const runtime of options.runtimes) runtimes[runtime] = {};
  const allIds: string[] = [];
  const serverProblems: string[] = [];
  const shutdowns: Shutdown[] = [];
  const maxConcurrency = Math.max(...options.concurrency);

  // Phase 1: no generic stock, so the first call of every new version boots a container.
  let server = await launch(options, engine, dataDir, database, 0);
  const user = await createBenchUser(database.url);
  let deployer = new Deployer(server.url, user.apiKey);
  const functions = {} as Record<RuntimeName, BenchFunction>;
  for (const runtime of options.runtimes) {
    functions[runtime] = await deployer.create(runtime, maxConcurrency);
    log(
      `Deployed ${functions[runtime].handler} (${runtime}, concurrency ${maxConcurrency}) through the SDK`,
    );
  }
  let client = new InvokeClient(server.url, user.apiKey, engineName);
  let ctx: PhaseContext = { engine, client, deployer, user, genericPerRuntime: 0, progress: log };
  for (const runtime of options.runtimes) {
    log(
      `Cold: ${options.coldSamples} first calls of new versions, POOL_GENERIC_PER_RUNTIME=0 (${runtime})`,
    );
    const cold = await firstCallPhase(ctx, functions[runtime], "cold", options.coldSamples);
    runtimes[runtime]!.cold = cold;
    allIds.push(...cold.invocationIds);
  }
  client.close();
  // The rows first: the shutdown is judged on its own below, not through lost records.
  await records.waitForIds(allIds);
  serverProblems.push(...server.problems);
  shutdowns.push({ server: "cold (POOL_GENERIC_PER_RUNTIME=0)", ...(await server.stop()) });

  // Phase 2: a generic stock per runtime.
  server = await launch(options, engine, dataDir, database, options.generic);
  deployer = new Deployer(server.url, user.apiKey);
  client = new InvokeClient(server.url, user.apiKey, engineName);
  ctx = { ...ctx, client, deployer, genericPerRuntime: options.generic };
  for (const runtime of options.runtimes) {
    log(
      `Prewarm: ${options.prewarmSamples} first calls of new versions with a full generic stock (${runtime})`,
    );
    const prewarm = await firstCallPhase(
      ctx,
      functions[runtime],
      "prewarm",
      options.prewarmSamples,
    );
    runtimes[runtime]!.prewarm = prewarm;
    allIds.push(...prewarm.invocationIds);
  }
  for (const runtime of options.runtimes) {
    log(
      `Warm: ${options.warmup} warm-up calls, then ${options.warmSamples} sequential calls (${runtime})`,
    );
    const warm = await warmPhase(ctx, functions[runtime], {
      warmup: options.warmup,
      samples: options.warmSamples,
    });
    runtimes[runtime]!.warm = warm;
    allIds.push(...warm.invocationIds);
    const l = warm.latency;
    log(
      `  warm ${runtime}: p50 ${l.p50Ms} ms, p95 ${l.p95Ms} ms, p99 ${l.p99Ms} ms (server p50 ${warm.server.totalP50Ms} ms)`,
    );
    runtimes[runtime]!.idle = await idleMemory(engine, runtime);
    log(`  idle ${runtime} instance: ${runtimes[runtime]!.idle?.miB ?? "-"} MiB`);
  }
  client.close();
  for (const runtime of options.runtimes) {
    log(`Baseline: ${options.baselineSamples} naive runs, a fresh instance per call (${runtime})`);
    runtimes[runtime]!.baseline = await baselinePhase(
      engine,
      runtime,
      options.baselineSamples,
      log,
    );
  }
  const primary = options.runtimes[0]!;
  log(
    `Throughput: ${options.concurrency.join(", ")} concurrent callers, ${options.durationMs / 1000} s each after 1 s warm-ups until the pool stops growing (${primary})`,
  );
  const throughput = await throughputPhase({
    baseUrl: server.url,
    apiKey: user.apiKey,
    engine,
    runtime: primary,
    target: targetOf(user, functions[primary]),
    levels: options.concurrency,
    durationMs: options.durationMs,
    warmupMs: 1000,
    serverPid: server.pid,
    records,
    progress: log,
  });
  allIds.push(...throughput.invocationIds);

  log("Checking that every call of every phase has its invocation row…");
  const { recorded } = await records.waitForIds(allIds);
  serverProblems.push(...server.problems);
  shutdowns.push({
    server: `prewarm/warm (POOL_GENERIC_PER_RUNTIME=${options.generic})`,
    ...(await server.stop()),
  });

  const results: BenchResults = {
    engine: engineName,
    command: commandLine(),
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
      memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
      loadAtStart,
      loadAtEnd: os.loadavg(),
      node: process.version,
      platform: `${os.type()} ${os.release()}`,
    },
    settings: {
      genericPerRuntime: options.generic,
      functionConcurrency: maxConcurrency,
      functionMemoryMb: 128,
      coldSamples: options.coldSamples,
      prewarmSamples: options.prewarmSamples,
      warmSamples: options.warmSamples,
      warmup: options.warmup,
      baselineSamples: options.baselineSamples,
      throughputSeconds: options.durationMs / 1000,
      concurrency: options.concurrency,
      settleWait:
        "before each cold/prewarm sample: poll the engine's instances of the runtime (docker ps by owner label) and each agent's /health until exactly POOL_GENERIC_PER_RUNTIME generic ones remain, then 150 ms",
    },
    primary,
    runtimes,
    throughput: throughput.results,
    records: { calls: allIds.length, recorded },
    serverProblems,
    shutdowns,
  };
  printReport(results);
  return results;
}

function commandLine() {
  const args = process.argv.slice(2).join(" ");
  return args ? `npm run benchmark -- ${args}` : "npm run benchmark";
}

/**
 * The engines' settings as the server will resolve them from this
 * environment (NANOS_*, DOCKER_HOST, PYTHON_BIN…): what the availability
 * checks and the machine description look at. Development mode, so the
 * production-only requirements (BASE_URL) do not apply to this look.
 */
function hostRunnerConfig(): RunnerConfig {
  return loadConfig({
    ...process.env,
    NODE_ENV: "development",
    DATA_DIR: path.join(os.tmpdir(), "cloudless-bench-probe"),
    SESSION_SECRET: "x".repeat(32),
    ENGINES: "",
  }).runners;
}

async function main(options: Options) {
  if (options.task) return runTask(options.task);
  const startedAt = new Date().toISOString();
  const hostConfig = hostRunnerConfig();
  const machine = await machineInfo(hostConfig);
  log(
    `${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Linux ${machine.kernel}; load ${machine.loadBefore.join(" ")}`,
  );

  // Named engines must run (a failure says why); "every engine" skips what this machine lacks.
  const wanted =
    options.async === "only" ? ["docker" as const] : (options.engines ?? KNOWN_ENGINES);
  const toRun: EngineName[] = [];
  const skipped: RunReport["skipped"] = [];
  for (const name of wanted) {
    const availability = await engineAvailability(name, hostConfig);
    if (availability.available) toRun.push(name);
    else if (options.engines) {
      throw new Error(`The ${name} engine cannot be benchmarked here: ${availability.reason}`);
    } else {
      skipped.push({ engine: name, reason: availability.reason });
      log(`Skipping ${name}: ${availability.reason}`);
    }
  }
  if (toRun.length === 0) {
    throw new Error(
      `No engine can be benchmarked here:\n${skipped.map((s) => `  ${s.engine}: ${s.reason}`).join("\n")}`,
    );
  }
  log(
    `Measuring ${toRun.join(", ")}${options.quick ? " (--quick: tiny samples)" : ""}; the report is written at the end`,
  );

  const results: Array<[EngineName, BenchResults]> = [];
  const failed: RunReport["failed"] = [];
  for (const [i, name] of (options.async === "only" || options.cluster ? [] : toRun).entries()) {
    currentEngine = `${name} ${i + 1}/${toRun.length}`;
    const began = performance.now();
    log(`━━ ${name}: cold, prewarm, warm, idle memory, baseline, throughput ━━`);
    try {
      results.push([name, await benchEngine(options, name)]);
      log(`${name} done in ${((performance.now() - began) / 60_000).toFixed(1)} min`);
    } catch (error) {
      // One engine failing part way must not lose the others' figures, unless it was all we ran.
      if (interrupted || toRun.length === 1) throw error;
      const message = (error as Error).message;
      failed.push({ engine: name, error: message });
      log(`${name} FAILED: ${message.split("\n")[0]}; going on with the next engine`);
    } finally {
      await cleanup.run();
    }
  }
  currentEngine = undefined;
  let asyncResults: RunReport["async"];
  if (options.async !== "skip" && toRun.includes("docker")) {
    currentEngine = "async";
    log("━━ async calls on docker: enqueue throughput, enqueue → start, 10,000 queued ━━");
    try {
      asyncResults = await asyncPhase({ quick: options.quick, progress: log, cleanup });
      console.log(`\n${asyncTable(asyncResults)}\n`);
    } catch (error) {
      if (interrupted) throw error;
      failed.push({ engine: "docker", error: `async section: ${(error as Error).message}` });
      log(`async section FAILED: ${(error as Error).message.split("\n")[0]}`);
    } finally {
      await cleanup.run();
    }
    currentEngine = undefined;
  }
  let clusterResults: RunReport["cluster"];
  if (options.cluster) {
    currentEngine = "cluster";
    log("━━ two nodes behind nginx: warm hit ratio, nginx cost, throughput ━━");
    try {
      clusterResults = await clusterPhase({ quick: options.quick, progress: log, cleanup });
      console.log(`\n${clusterTable(clusterResults)}\n`);
    } finally {
      await cleanup.run();
    }
    currentEngine = undefined;
  }
  machine.loadAfter = roundLoad(os.loadavg());

  const report: RunReport = {
    format: "cloudless-benchmark/1",
    command: commandLine(),
    startedAt,
    finishedAt: new Date().toISOString(),
    quick: options.quick,
    machine,
    engines: Object.fromEntries(results.map(([name, r]) => [name, toJson(r)])),
    skipped,
    failed,
    async: asyncResults,
    cluster: clusterResults,
  };
  if (options.json) {
    // One engine: the same file as before run reports existed; several: the run report.
    const json = results.length === 1 && failed.length === 0 ? toJson(results[0]![1]) : report;
    await fs.mkdir(path.dirname(path.resolve(options.json)), { recursive: true });
    await fs.writeFile(options.json, `${JSON.stringify(json, null, 2)}\n`);
    log(`Wrote ${options.json}`);
  }
  if (options.resultsDir) {
    const written = await writeRunReport(options.resultsDir, report, renderHtml(report));
    log(`Wrote ${path.relative(process.cwd(), written.json)}`);
    log(
      `Wrote ${path.relative(process.cwd(), written.html)} (open it in a browser; it needs no network)`,
    );
    if (written.latest) {
      log(
        "Copied them to latest.json / latest.html; `npm run benchmark -- --update-readme` puts the table in README.md",
      );
    } else if (options.quick) {
      log("A --quick run leaves latest.json / latest.html as they were");
    }
  }
  if (failed.length > 0) process.exitCode = 1;
}

/** The README section and HTML redraws: from a results file, no measuring. */
async function runTask(task: Task) {
  const report = await readRunReport(task.file);
  if (task.kind === "render") {
    const html = `${task.file.replace(/\.json$/, "")}.html`;
    await fs.writeFile(html, renderHtml(report));
    console.log(`Wrote ${path.relative(process.cwd(), html)}`);
    return;
  }
  const section = readmeSection(report);
  if (task.kind === "readme") {
    console.log(section);
    return;
  }
  const readme = path.join(REPO_ROOT, "README.md");
  const text = await fs.readFile(readme, "utf8");
  await fs.writeFile(readme, replaceSection(text, "Benchmark", section, "Configuration"));
  console.log(
    `Updated the Benchmark section of ${path.relative(process.cwd(), readme)} from ${path.relative(process.cwd(), task.file)}`,
  );
}

interface Running {
  url: string;
  pid: number;
  problems: string[];
  stop(): Promise<Omit<Shutdown, "server">>;
}

/** Starts a server and registers its stop; waits until the generic stock is full. */
async function launch(
  options: Options,
  engine: EngineBench,
  dataDir: string,
  database: Database,
  generic: number,
): Promise<Running> {
  log(
    `Starting Cloudless (ENGINES=${engine.name}, POOL_GENERIC_PER_RUNTIME=${generic}) as a child process…`,
  );
  const started = performance.now();
  const server = await startServer({
    engine: engine.name as EngineName,
    dataDir,
    databaseUrl: database.url,
    genericPerRuntime: generic,
    nodeFlags: options.serverProfile
      ? ["--cpu-prof", "--cpu-prof-dir", path.resolve(options.serverProfile)]
      : [],
    onLine: options.verbose ? (line) => log(`  server│ ${line}`) : undefined,
    progress: (line) => log(`  server│ ${line}`),
  });
  let stopped: ReturnType<Running["stop"]> | undefined;
  // Idempotent: called in order at the end of a phase, and again (a no-op) by the cleanup.
  const stop = () => {
    stopped ??= stopServer(server, engine);
    return stopped;
  };
  cleanup.add("stop the server", stop);
  for (const runtime of options.runtimes) await waitForSettled(engine, runtime, generic);
  log(
    `Server ready at ${server.url} (pid ${server.pid}) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return { ...server, stop };
}

/**
 * SIGTERM: the server should drain its pools (removing its containers) and
 * write its last records. What it left is removed here, and reported.
 */
async function stopServer(server: Server, engine: EngineBench): Promise<Omit<Shutdown, "server">> {
  log("Stopping the server (SIGTERM)…");
  const exit = await server.stop();
  const leftInstances = await engine.removeLeftovers();
  const how = exit.clean
    ? `exited (${exit.code ?? exit.signal}) after ${exit.ms} ms`
    : "was killed after 60 s";
  log(
    `  the server ${how}${leftInstances > 0 ? `, leaving ${leftInstances} instance(s), now removed` : ""}`,
  );
  return { ...exit, leftInstances };
}

const options = parseOptions(process.argv.slice(2));
main(options)
  .then(() => cleanup.run())
  .catch(async (error) => {
    if (interrupted) return;
    console.error(`\nBenchmark failed: ${(error as Error).stack ?? error}`);
    await cleanup.run();
    process.exitCode = 1;
  });
