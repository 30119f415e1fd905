import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import type { EngineName, RuntimeName } from "../runners/types";
import { isSupportedEngine, KNOWN_ENGINES, supported } from "./engines/index";
import { REPO_ROOT } from "./server";

/** What to do instead of measuring: print or write the README section, or redraw a report. */
export type Task =
  | { kind: "readme"; file: string }
  | { kind: "update-readme"; file: string }
  | { kind: "render"; file: string };

export interface Options {
  /** Engines asked for by name; undefined = every engine available on this machine. */
  engines?: EngineName[];
  json?: string;
  /** Where `<timestamp>.json/.html` and `latest.*` go; undefined = write no report. */
  resultsDir?: string;
  task?: Task;
  quick: boolean;
  runtimes: RuntimeName[];
  coldSamples: number;
  prewarmSamples: number;
  warmSamples: number;
  warmup: number;
  baselineSamples: number;
  concurrency: number[];
  durationMs: number;
  generic: number;
  verbose: boolean;
  /** The async section (Docker): "with" the engines, "only" it, or "skip". */
  async: "with" | "only" | "skip";
  /** Only the cluster section: two nodes behind nginx (benchmark/cluster.ts). */
  cluster: boolean;
  /** Folder for V8 CPU profiles of the servers (node --cpu-prof), written when they exit. */
  serverProfile?: string;
}

function positive(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${name} must be a whole number ≥ 1`);
    return n;
  };
}

export const DEFAULT_RESULTS_DIR = path.join(REPO_ROOT, "benchmark", "results");

/** `npm run benchmark [-- --engine docker] [--json FILE] …`; --quick shrinks every phase for a smoke run. */
export function parseOptions(argv: string[]): Options {
  const program = new Command("npm run benchmark --")
    .description(
      "Measures cold, prewarm and warm latency, warm throughput with its invocation records, idle instance memory and a naive baseline (a fresh instance per call), against a Cloudless server it starts and removes. Without --engine it measures every engine available here and says why it skips the others. Writes benchmark/results/<timestamp>.json and .html (a self-contained report) and copies them to latest.json / latest.html.",
    )
    .option(
      "--engine <names>",
      `engines to measure, comma-separated (${KNOWN_ENGINES.join(", ")}); default: every available one`,
    )
    .option("--json <file>", "also write the figures as JSON to this file")
    .option(
      "--results-dir <dir>",
      "folder for the <timestamp>.json/.html report and latest.*",
      DEFAULT_RESULTS_DIR,
    )
    .option("--no-report", "write no <timestamp>.json/.html report and leave latest.* alone")
    .option(
      "--readme [file]",
      "print the README's Benchmark section (a Markdown table) for a results file (default: latest.json), without measuring",
    )
    .option(
      "--update-readme [file]",
      "put that section into README.md (replacing the old one), without measuring",
    )
    .option(
      "--render <file>",
      "rewrite the HTML report of a results JSON file next to it, without measuring",
    )
    .option(
      "--runtimes <list>",
      "runtimes, comma-separated; the first one is the headline",
      "python,node",
    )
    .option("--cold-samples <n>", "cold starts per runtime", positive("--cold-samples"), 15)
    .option(
      "--prewarm-samples <n>",
      "prewarm starts per runtime",
      positive("--prewarm-samples"),
      20,
    )
    .option(
      "--warm-samples <n>",
      "sequential warm calls per runtime",
      positive("--warm-samples"),
      2000,
    )
    .option("--warmup <n>", "untimed calls before the warm samples", positive("--warmup"), 200)
    .option("--baseline-samples <n>", "naive runs per runtime", positive("--baseline-samples"), 10)
    .option("--concurrency <list>", "throughput concurrency levels (max 64)", "1,8,32")
    .option("--duration <seconds>", "timed window per concurrency level", positive("--duration"), 5)
    .option(
      "--generic <n>",
      "POOL_GENERIC_PER_RUNTIME for the prewarm/warm server (≥ 1)",
      positive("--generic"),
      2,
    )
    .option("--quick", "small sample counts: checks the tool end to end in about a minute")
    .option("--verbose", "print every line the server logs")
    .option("--no-async", "leave out the async section (async calls on Docker)")
    .option(
      "--cluster",
      "measure two nodes behind nginx instead (warm hit ratio, nginx cost, throughput)",
    )
    .option("--async-only", "measure the async section alone (what `npm run benchmark:async` runs)")
    .option(
      "--server-profile <dir>",
      "write a V8 CPU profile of each server to this folder (node --cpu-prof)",
    )
    .showHelpAfterError("(npm run benchmark -- --help lists the options)");
  program.parse(argv, { from: "user" });
  const o = program.opts();

  let engines: EngineName[] | undefined;
  if (o.engine !== undefined) {
    engines = [];
    for (const name of String(o.engine)
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)) {
      if (!isSupportedEngine(name)) {
        const known = (KNOWN_ENGINES as readonly string[]).includes(name);
        // program.error exits; the return only tells the compiler so.
        return program.error(
          known
            ? `error: the benchmark does not support the ${name} engine yet (supported: ${supported()})`
            : `error: unknown engine "${name}" (supported: ${supported()})`,
        );
      }
      if (!engines.includes(name)) engines.push(name);
    }
    if (engines.length === 0) program.error("error: --engine needs at least one engine name");
  }
  const resultsDir = path.resolve(String(o.resultsDir));
  const latest = path.join(resultsDir, "latest.json");
  const pick = (value: unknown) => (typeof value === "string" ? path.resolve(value) : latest);
  const task: Task | undefined =
    o.render !== undefined
      ? { kind: "render", file: path.resolve(String(o.render)) }
      : o.updateReadme !== undefined
        ? { kind: "update-readme", file: pick(o.updateReadme) }
        : o.readme !== undefined
          ? { kind: "readme", file: pick(o.readme) }
          : undefined;
  const runtimes = String(o.runtimes)
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const r of runtimes) {
    if (r !== "python" && r !== "node")
      program.error(`error: unknown runtime "${r}" (use python, node)`);
  }
  const concurrency = String(o.concurrency)
    .split(",")
    .map((s) => Number(s.trim()));
  if (concurrency.some((c) => !Number.isInteger(c) || c < 1 || c > 64)) {
    program.error(
      "error: --concurrency takes whole numbers from 1 to 64 (a function's concurrency is at most 64)",
    );
  }
  const quick = Boolean(o.quick);
  return {
    engines,
    json: o.json,
    resultsDir: o.report === false ? undefined : resultsDir,
    task,
    quick,
    runtimes: runtimes as RuntimeName[],
    coldSamples: quick ? 3 : o.coldSamples,
    prewarmSamples: quick ? 3 : o.prewarmSamples,
    warmSamples: quick ? 200 : o.warmSamples,
    warmup: quick ? 20 : o.warmup,
    baselineSamples: quick ? 2 : o.baselineSamples,
    concurrency,
    durationMs: (quick ? 1 : o.duration) * 1000,
    generic: o.generic,
    verbose: Boolean(o.verbose),
    async: o.asyncOnly ? "only" : o.async === false || o.cluster ? "skip" : "with",
    cluster: Boolean(o.cluster),
    serverProfile: o.serverProfile,
  };
}
