import fs from "node:fs/promises";
import path from "node:path";
import type { EngineName } from "../runners/types";
import type { MachineInfo } from "./machine";
import type { AsyncResults, ClusterResults, toJson } from "./report";

/** One engine's figures: the same JSON `--json FILE` writes for a single engine. */
export type EngineReport = ReturnType<typeof toJson>;

/**
 * One run of `npm run benchmark`: every engine it measured, the ones it
 * skipped and why, and the machine. `benchmark/results/<timestamp>.json` and
 * the HTML report and README table are made from this alone.
 */
export interface RunReport {
  format: "cloudless-benchmark/1";
  command: string;
  startedAt: string;
  finishedAt: string;
  /** Made with --quick: tiny samples, a check of the tool rather than figures. */
  quick: boolean;
  machine: MachineInfo;
  /** In the order they ran. */
  engines: Partial<Record<EngineName, EngineReport>>;
  skipped: Array<{ engine: EngineName; reason: string }>;
  /** Engines that were available but whose run failed part way. */
  failed: Array<{ engine: EngineName; error: string }>;
  /** Async calls on the Docker engine (absent when Docker was not measured or --no-async). */
  async?: AsyncResults;
  /** Two nodes behind nginx (--cluster). */
  cluster?: ClusterResults;
}

/** `2026-11-30T11:38:51.724Z` → `2026-11-30T11-38-51Z`: sorts by time, and no colons (Windows, URLs). */
export function fileStamp(iso: string): string {
  return `${iso.slice(0, 19).replace(/:/g, "-")}Z`;
}

/**
 * Reads a results file: a run report, or an older single-engine file
 * (`--json FILE`, the shape before run reports), wrapped into one.
 */
export function parseRunReport(value: unknown): RunReport {
  const v = value as Partial<RunReport> & Partial<EngineReport>;
  if (v.format === "cloudless-benchmark/1") return v as RunReport;
  if (typeof v.engine === "string" && v.machine) {
    const single = v as EngineReport;
    const m = single.machine as {
      cpus?: number;
      cpuModel?: string;
      memoryGiB?: number;
      loadAtStart?: number[];
      loadAtEnd?: number[];
      node?: string;
      platform?: string;
    };
    return {
      format: "cloudless-benchmark/1",
      command: single.command,
      startedAt: single.startedAt,
      finishedAt: single.finishedAt,
      quick: false,
      machine: {
        cpuModel: m.cpuModel ?? "unknown",
        cores: m.cpus ?? 0,
        memoryGiB: m.memoryGiB ?? 0,
        kernel: m.platform?.split(" ")[1] ?? "unknown",
        os: m.platform?.split(" ")[0] ?? "unknown",
        node: m.node ?? "unknown",
        // Older files did not record them (null would read as "not installed").
        python: "not recorded",
        docker: "not recorded",
        qemu: "not recorded",
        loadBefore: m.loadAtStart ?? [],
        loadAfter: m.loadAtEnd,
      },
      engines: { [single.engine]: single },
      skipped: [],
      failed: [],
    };
  }
  throw new Error("Not a benchmark results file (neither a run report nor a single engine's JSON)");
}

export async function readRunReport(file: string): Promise<RunReport> {
  const text = await fs.readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
    throw new Error(`No results file at ${file}: run \`npm run benchmark\` first`);
  });
  return parseRunReport(JSON.parse(text));
}

/**
 * Writes `<stamp>.json` and `<stamp>.html` in `dir`, and copies them to
 * `latest.json` / `latest.html` (copies, not links: the README links them,
 * and a link would not survive every checkout or file share). A quick run
 * gets a `-quick` suffix and leaves `latest` alone, so a smoke test never
 * replaces the figures the README shows.
 */
export async function writeRunReport(
  dir: string,
  report: RunReport,
  html: string,
): Promise<{ json: string; html: string; latest: boolean }> {
  await fs.mkdir(dir, { recursive: true });
  const base = path.join(dir, `${fileStamp(report.startedAt)}${report.quick ? "-quick" : ""}`);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  await fs.writeFile(`${base}.json`, json);
  await fs.writeFile(`${base}.html`, html);
  const latest = !report.quick && Object.keys(report.engines).length > 0;
  if (latest) {
    await fs.writeFile(path.join(dir, "latest.json"), json);
    await fs.writeFile(path.join(dir, "latest.html"), html);
  }
  return { json: `${base}.json`, html: `${base}.html`, latest };
}
