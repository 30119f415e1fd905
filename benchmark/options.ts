import { Command, InvalidArgumentError } from "commander";
import type { RuntimeName } from "../runners/types";
import { isSupportedEngine, KNOWN_ENGINES, supported } from "./engines/index";

export interface Options {
  engine: string;
  json?: string;
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

/** `npm run benchmark -- --engine docker [--json FILE] …`; --quick shrinks every phase for a smoke run. */
export function parseOptions(argv: string[]): Options {
  const program = new Command("npm run benchmark --")
    .description(
      "Measures cold, prewarm and warm latency, warm throughput with its invocation records, idle instance memory and a naive `docker run` baseline, against a Cloudless server it starts and removes.",
    )
    .option("--engine <name>", `engine to measure (${KNOWN_ENGINES.join(", ")})`, "docker")
    .option("--json <file>", "also write the figures as JSON to this file")
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
    .option(
      "--server-profile <dir>",
      "write a V8 CPU profile of each server to this folder (node --cpu-prof)",
    )
    .showHelpAfterError("(npm run benchmark -- --help lists the options)");
  program.parse(argv, { from: "user" });
  const o = program.opts();

  if (!isSupportedEngine(o.engine)) {
    const known = (KNOWN_ENGINES as readonly string[]).includes(o.engine);
    program.error(
      known
        ? `error: the benchmark does not support the ${o.engine} engine yet (supported: ${supported()})`
        : `error: unknown engine "${o.engine}" (supported: ${supported()})`,
    );
  }
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
    engine: o.engine,
    json: o.json,
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
    serverProfile: o.serverProfile,
  };
}
