import type { RuntimeName } from "../runners/types";
import { formatValue } from "./charts";
import { engines, runtimesOf, targetValue } from "./html";
import {
  ASYNC_TARGETS,
  type AsyncResults,
  ASYNC_CALLERS as CALLERS,
  CLUSTER_TARGETS,
  type ClusterResults,
} from "./report";
import type { RunReport } from "./run-report";

/**
 * The README's "Benchmark" section, made from a run report, so the table in
 * the README is never typed by hand: `npm run benchmark -- --readme` prints
 * it, `--update-readme` puts it in README.md.
 */

const dash = "–";
const ms = (v: number | null | undefined) =>
  v === null || v === undefined || Number.isNaN(v) ? dash : formatValue(v);
const count = (v: number) => v.toLocaleString("en-US");

/** A Markdown table; `|` in cells is escaped so a reason or command cannot break a row. */
export function markdownTable(header: string[], rows: string[][], alignRightFrom = 1): string {
  const cell = (text: string) => text.replace(/\|/g, "\\|");
  const line = (cells: string[]) => `| ${cells.map(cell).join(" | ")} |`;
  const rule = header.map((_, i) => (i >= alignRightFrom ? "---:" : "---"));
  return [line(header), `|${rule.join("|")}|`, ...rows.map(line)].join("\n");
}

/** One row per engine and runtime: latencies (p50 / p99), baseline, idle memory, warm throughput. */
export function resultsTable(report: RunReport): string {
  const rows: string[][] = [];
  const levels = [
    ...new Set(engines(report).flatMap(([, e]) => e.throughput.map((t) => t.concurrency))),
  ].sort((a, b) => a - b);
  for (const [name, e] of engines(report)) {
    for (const runtime of runtimesOf(report)) {
      const d = e.detail[runtime as RuntimeName];
      if (!d) continue;
      const pair = (l?: { p50Ms: number; p99Ms: number; samples: number }) =>
        l && l.samples > 0 ? `${ms(l.p50Ms)} / ${ms(l.p99Ms)}` : dash;
      // Throughput is measured for the headline runtime only.
      const throughput =
        runtime === e.runtime && e.throughput.length > 0
          ? `${levels
              .map((c) => {
                const t = e.throughput.find((x) => x.concurrency === c);
                return t ? count(t.perSecond) : dash;
              })
              .join(" / ")}${
              e.throughput.every((t) => t.recorded === t.requests && t.errors === 0)
                ? " (all recorded)"
                : " (some not recorded)"
            }`
          : dash;
      rows.push([
        name,
        runtime,
        pair(d.cold?.latency),
        pair(d.prewarm?.latency),
        pair(d.warm?.latency),
        ms(d.baseline?.latency.p50Ms),
        d.idle ? `${d.idle.miB.toFixed(1)} MiB` : dash,
        throughput,
      ]);
    }
  }
  return markdownTable(
    [
      "engine",
      "runtime",
      "cold p50 / p99",
      "prewarm p50 / p99",
      "warm p50 / p99",
      "naive run p50",
      "idle instance",
      `warm calls/s at ${levels.join(" / ")} callers`,
    ],
    rows,
    2,
  );
}

/** First sentence of a reason: the README line stays short; the HTML report has all of it. */
function firstSentence(text: string) {
  const end = text.search(/\.(\s|$)/);
  return end === -1 ? text : text.slice(0, end + 1);
}

/** The async section: enqueue throughput, enqueue → start, and a large batch checked for loss. */
export function asyncTable(a: AsyncResults): string {
  const c = a.completion;
  return markdownTable(
    ["async (docker)", "measured", "target"],
    [
      [
        `enqueue throughput, ${CALLERS} callers (202s/s)`,
        `${count(Math.round(a.enqueue.perSecond))} (p50 ${ms(a.enqueue.latencyMs.p50)} ms)`,
        `≥ ${count(ASYNC_TARGETS.enqueuePerSecond)}`,
      ],
      [
        "enqueue → start, warm function (ms)",
        `p50 ${ms(a.enqueueToStart.p50Ms)}, p99 ${ms(a.enqueueToStart.p99Ms)}`,
        `p50 ≤ ${ASYNC_TARGETS.enqueueToStartP50Ms}`,
      ],
      [
        `${count(c.calls)} queued calls`,
        `done in ${c.completionSeconds} s (${count(Math.round(c.completedPerSecond))}/s); ${c.lost} lost, ${c.duplicated} duplicated, ${c.retried} retried`,
        "0 lost, 0 duplicated",
      ],
    ],
  );
}

/** Two nodes behind nginx: each figure beside its target. */
export function clusterTable(c: ClusterResults): string {
  return markdownTable(
    ["cluster (2 nodes, docker)", "measured", "target"],
    [
      [
        `warm after each function's first call, ${count(c.warmHit.calls)} calls over ${c.functions} functions via nginx`,
        `${(c.warmHit.ratio * 100).toFixed(1)} % (${c.warmHit.errors} errors)`,
        `≥ ${CLUSTER_TARGETS.warmHitRatio * 100} %`,
      ],
      [
        "warm p50 via nginx / direct (ms)",
        `${ms(c.warmP50Ms.nginx)} / ${ms(c.warmP50Ms.direct)} (+${ms(c.warmP50Ms.addedMs)})`,
        `+≤ ${CLUSTER_TARGETS.nginxAddedMs}`,
      ],
      [
        `throughput, a caller per function: 2 nodes via nginx / 1 node direct (calls/s)`,
        `${count(Math.round(c.throughput.twoNodesViaNginx))} / ${count(Math.round(c.throughput.oneNodeDirect))}`,
        "–",
      ],
    ],
  );
}

/** The section's body (without its heading). */
export function readmeSection(
  report: RunReport,
  links = { html: "benchmark/results/latest.html", json: "benchmark/results/latest.json" },
): string {
  const m = report.machine;
  const load = (l?: number[]) => (l && l.length > 0 ? l[0]!.toFixed(1) : "?");
  const lines: string[] = [];
  lines.push(
    `Measured with \`${report.command}\` on ${report.finishedAt.slice(0, 10)} (${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Linux ${m.kernel}; load average ${load(m.loadBefore)} before and ${load(m.loadAfter)} after, on a machine shared with other work). A trivial function (\`return {"ok": true}\`), timed end to end through \`GET /api/function/…\`; milliseconds, p50 / p99.`,
    "",
    resultsTable(report),
    "",
  );
  for (const [name, e] of engines(report)) {
    const judged = e.targets.filter((t) => t.met !== null);
    const missed = e.targets.filter((t) => t.met === false);
    const detail = missed.map((t) => `${t.what} ${targetValue(t)} (target ${t.goal})`).join("; ");
    lines.push(
      `- ${name}: ${judged.length - missed.length} of ${judged.length} targets met${missed.length > 0 ? `; missed: ${detail}` : ""}.`,
    );
  }
  for (const s of report.skipped)
    lines.push(`- ${s.engine}: not measured — ${firstSentence(s.reason)}`);
  if (report.async) lines.push("", asyncTable(report.async));
  for (const f of report.failed)
    lines.push(`- ${f.engine}: the run failed — ${firstSentence(f.error)}`);
  lines.push(
    "",
    `Charts, every percentile and how each figure is measured: [${links.html}](${links.html}) ([JSON](${links.json}), [method](benchmark/README.md)). \`npm run benchmark -- --readme\` prints this section from the latest results; \`--update-readme\` writes it here.`,
  );
  return lines.join("\n");
}

/** Lines of `text` that are headings (`## Title`), not lines inside fenced code blocks. */
function headings(lines: string[]): Array<{ index: number; level: number; title: string }> {
  const found: Array<{ index: number; level: number; title: string }> = [];
  let fence: string | null = null;
  lines.forEach((line, index) => {
    const f = /^\s*(```+|~~~+)/.exec(line);
    if (f) {
      if (fence === null) fence = f[1]![0]!;
      else if (f[1]![0] === fence) fence = null;
      return;
    }
    if (fence !== null) return;
    const h = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) found.push({ index, level: h[1]!.length, title: h[2]! });
  });
  return found;
}

/**
 * Replaces the `## <title>` section of a Markdown document (up to the next
 * heading of the same or a higher level) with `body`; when there is none,
 * inserts it before the `## <before>` heading, else at the end.
 */
export function replaceSection(
  markdown: string,
  title: string,
  body: string,
  before?: string,
): string {
  const lines = markdown.replace(/\n+$/, "").split("\n");
  const all = headings(lines);
  const section = [`## ${title}`, "", body.trim(), ""];
  const at = all.find((h) => h.level === 2 && h.title === title);
  if (at) {
    const next = all.find((h) => h.index > at.index && h.level <= 2);
    const end = next ? next.index : lines.length;
    lines.splice(at.index, end - at.index, ...section);
  } else {
    const anchor = before ? all.find((h) => h.level === 2 && h.title === before) : undefined;
    if (anchor) lines.splice(anchor.index, 0, ...section);
    else lines.push("", ...section);
  }
  return `${lines.join("\n").replace(/\n+$/, "")}\n`;
}
