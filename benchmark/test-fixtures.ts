import type { EngineName, RuntimeName, StartKind } from "../runners/types";
import type { PhaseResult } from "./latency";
import { type AsyncResults, type BenchResults, toJson } from "./report";
import type { RunReport } from "./run-report";
import { summarize } from "./stats";
import type { ThroughputResult } from "./throughput";

/**
 * Results for the report tests, made through the real toJson so the tests
 * see exactly the shape a run writes. `scale` multiplies every latency, to
 * tell engines apart.
 */
function phase(kind: StartKind, runtime: RuntimeName, values: number[]): PhaseResult {
  return {
    phase: kind,
    runtime,
    latency: summarize(values),
    server: { totalP50Ms: values[0]! * 0.8, totalP99Ms: values.at(-1)! * 0.8, startP50Ms: 1 },
    mismatches: [],
    failures: [],
    invocationIds: values.map((_, i) => `${kind}-${i}`),
  };
}

function throughput(concurrency: number, perSecond: number): ThroughputResult {
  const requests = perSecond * 5;
  return {
    concurrency,
    perSecond,
    requests,
    recorded: requests,
    errors: 0,
    starts: { warm: requests },
    latency: { p50Ms: 0.4 * concurrency, p99Ms: 2 * concurrency },
    server: { queueMs: 0.01, execMs: 0.2, totalMs: 0.25 },
    durationMs: 5000,
    cpuPerCallUs: { server: 200, instances: 100, client: 80 },
    instances: Math.min(concurrency, 12),
  };
}

export function benchResults(engine: EngineName, scale = 1): BenchResults {
  const s = (values: number[]) => values.map((v) => v * scale);
  const runtimes = Object.fromEntries(
    (["python", "node"] as const).map((runtime) => [
      runtime,
      {
        cold: phase("cold", runtime, s([240, 300, 420, 900])),
        prewarm: phase("prewarm", runtime, s([12, 18, 25, 40])),
        warm: phase("warm", runtime, s([0.35, 0.5, 0.6, 4.2])),
        baseline: {
          runtime,
          command: `${engine} run --rm <image> ${runtime} '<code>'`,
          latency: summarize(s([200, 210, 260])),
        },
        idle: { runtime, miB: 9.9 * scale, perInstanceMiB: [9.9 * scale] },
      },
    ]),
  );
  return {
    engine,
    command: "npm run benchmark",
    startedAt: "2026-11-30T11:38:51.724Z",
    finishedAt: "2026-11-30T11:40:21.092Z",
    machine: {
      cpus: 2,
      cpuModel: "AMD EPYC",
      memoryGiB: 24,
      loadAtStart: [1, 2, 3],
      loadAtEnd: [2, 3, 4],
      node: "v20.20.2",
      platform: "Linux 6.18.44",
    },
    settings: {
      genericPerRuntime: 2,
      functionConcurrency: 32,
      functionMemoryMb: 128,
      coldSamples: 4,
      prewarmSamples: 4,
      warmSamples: 4,
      warmup: 2,
      baselineSamples: 3,
      throughputSeconds: 5,
      concurrency: [1, 8, 32],
    },
    primary: "python",
    runtimes,
    throughput: [
      throughput(1, Math.round(2200 / scale)),
      throughput(8, Math.round(2700 / scale)),
      throughput(32, Math.round(3400 / scale)),
    ],
    records: { calls: 100, recorded: 100 },
    serverProblems: [],
    shutdowns: [{ server: "cold", clean: true, code: 0, signal: null, ms: 40, leftInstances: 0 }],
  };
}

/** An async section: 10,000 calls, none lost; enqueue below its target, enqueue → start within it. */
export function asyncResults(): AsyncResults {
  return {
    enqueue: {
      concurrency: 32,
      seconds: 8,
      perSecond: 612.4,
      accepted: 4899,
      refused: 0,
      rowsQueued: 4899,
      latencyMs: { p50: 41.5, p99: 120 },
    },
    enqueueToStart: { samples: 200, warm: 200, p50Ms: 9, p99Ms: 29 },
    completion: {
      calls: 10_000,
      succeeded: 10_000,
      lost: 0,
      duplicated: 0,
      retried: 0,
      enqueueSeconds: 60.2,
      completionSeconds: 71.3,
      completedPerSecond: 140.3,
    },
  };
}

export function runReport(engines: EngineName[] = ["docker", "nanos"]): RunReport {
  return {
    format: "cloudless-benchmark/1",
    command: "npm run benchmark",
    startedAt: "2026-11-30T11:38:51.724Z",
    finishedAt: "2026-11-30T11:45:00.000Z",
    quick: false,
    machine: {
      cpuModel: "AMD EPYC",
      cores: 2,
      memoryGiB: 24,
      kernel: "6.18.44",
      os: "Debian GNU/Linux 12 (bookworm)",
      node: "v20.20.2",
      python: "3.11.2",
      docker: "20.10.24",
      qemu: "7.2.22",
      loadBefore: [1, 2, 3],
      loadAfter: [2, 3, 4],
    },
    engines: Object.fromEntries(engines.map((e, i) => [e, toJson(benchResults(e, 1 + i))])),
    skipped: [],
    failed: [],
  };
}

/**
 * Problems that would make `markup` ill-formed XML (what an SVG must be):
 * unbalanced or crossed tags, a bare `<`, an `&` that starts no entity,
 * unquoted attributes. Small on purpose: the tests need no XML parser.
 */
export function xmlProblems(markup: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  const token =
    /<!--[\s\S]*?-->|<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(?:[A-Za-z]+|#\d+|#x[\da-fA-F]+);)/g;
  for (const match of markup.matchAll(token)) {
    const [whole, closing, name, , selfClosing] = match;
    if (whole.startsWith("<!--")) continue;
    if (whole === "<") problems.push(`bare < at ${match.index}`);
    else if (whole === "&") problems.push(`bare & at ${match.index}`);
    else if (closing) {
      const open = stack.pop();
      if (open !== name)
        problems.push(`</${name}> closes <${open ?? "nothing"}> at ${match.index}`);
    } else if (!selfClosing) stack.push(name!);
  }
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(", ")}`);
  return problems;
}
