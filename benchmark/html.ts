import type { EngineName, RuntimeName } from "../runners/types";
import {
  barChart,
  type ChartGroup,
  type ChartSeries,
  escapeXml,
  formatMsTick,
  formatValue,
  tint,
} from "./charts";
import { ASYNC_TARGETS, type AsyncResults, ASYNC_CALLERS as CALLERS, TARGETS } from "./report";
import type { EngineReport, RunReport } from "./run-report";

/**
 * The run report as one HTML file: inline CSS, inline SVG charts made by
 * charts.ts, no script, font or request of any kind, so it opens offline and
 * can be mailed or attached as it is.
 */

const ENGINE_COLORS: Record<string, string> = { docker: "#2563eb", nanos: "#ea580c" };
const FALLBACK_COLORS = ["#059669", "#7c3aed", "#db2777"];

export function engineColor(engine: string, index: number): string {
  return ENGINE_COLORS[engine] ?? FALLBACK_COLORS[index % FALLBACK_COLORS.length]!;
}

const PHASES = ["cold", "prewarm", "warm"] as const;
type Phase = (typeof PHASES)[number];
const PERCENTILES = [
  { key: "p50Ms", label: "p50", tint: 0 },
  { key: "p95Ms", label: "p95", tint: 0.4 },
  { key: "p99Ms", label: "p99", tint: 0.68 },
] as const;

type Detail = EngineReport["detail"][string];

const esc = (value: unknown) => escapeXml(String(value));
const dash = "–";

function ms(value: number | null | undefined): string {
  return value === null || value === undefined || Number.isNaN(value) ? dash : formatValue(value);
}

function count(value: number | null | undefined): string {
  return value === null || value === undefined ? dash : value.toLocaleString("en-US");
}

export function engines(report: RunReport): Array<[EngineName, EngineReport]> {
  return Object.entries(report.engines) as Array<[EngineName, EngineReport]>;
}

/** Every runtime any engine measured, the headline (first) runtime first. */
export function runtimesOf(report: RunReport): RuntimeName[] {
  const names: RuntimeName[] = [];
  for (const [, e] of engines(report)) {
    for (const r of [e.runtime, ...Object.keys(e.detail)] as RuntimeName[]) {
      if (!names.includes(r)) names.push(r);
    }
  }
  return names;
}

function detail(e: EngineReport, runtime: RuntimeName): Detail | undefined {
  return e.detail[runtime];
}

function seriesFor(report: RunReport): ChartSeries[] {
  return engines(report).flatMap(([name], i) =>
    PERCENTILES.map((p) => ({
      key: `${name}-${p.label}`,
      label: `${name} ${p.label}`,
      color: tint(engineColor(name, i), p.tint),
      cluster: name,
    })),
  );
}

/** Cold, prewarm, warm and the naive baseline of one runtime: every engine's p50/p95/p99, log scale. */
export function latencyChart(report: RunReport, runtime: RuntimeName): string {
  const list = engines(report);
  const headline = list.every(([, e]) => e.runtime === runtime);
  const targets: Record<Phase, ChartGroup["targets"]> = {
    cold: [{ value: TARGETS.coldP50Ms, label: `p50 ≤ ${TARGETS.coldP50Ms} ms` }],
    prewarm: [{ value: TARGETS.prewarmP50Ms, label: `p50 ≤ ${TARGETS.prewarmP50Ms} ms` }],
    warm: [
      { value: TARGETS.warmP50Ms, label: `p50 ≤ ${TARGETS.warmP50Ms} ms` },
      { value: TARGETS.warmP99Ms, label: `p99 ≤ ${TARGETS.warmP99Ms} ms` },
    ],
  };
  const notes: Record<Phase | "baseline", string> = {
    cold: "boot, then the call",
    prewarm: "specialize a generic instance",
    warm: "idle specialized instance",
    baseline: "a new instance per call",
  };
  const groups: ChartGroup[] = [...PHASES, "baseline" as const].map((phase) => ({
    label: phase === "baseline" ? "naive run (baseline)" : phase,
    note: notes[phase],
    targets: headline && phase !== "baseline" ? targets[phase] : undefined,
    bars: list.flatMap(([name, e]) => {
      const d = detail(e, runtime);
      const summary = phase === "baseline" ? d?.baseline?.latency : d?.[phase]?.latency;
      return PERCENTILES.map((p) => {
        const value = summary && summary.samples > 0 ? summary[p.key] : null;
        return {
          series: `${name}-${p.label}`,
          value,
          title: `${name} ${phase} ${p.label}: ${ms(value)} ms (${summary?.samples ?? 0} samples)`,
        };
      });
    }),
  }));
  return barChart({
    title: `Latency of a trivial ${runtime} function per start kind and engine, p50/p95/p99 in ms, log scale`,
    unit: "ms",
    scale: "log",
    series: seriesFor(report),
    groups,
    tick: formatMsTick,
  });
}

/** Warm calls per second at each concurrency, one bar per engine. */
export function throughputChart(report: RunReport): string {
  const list = engines(report);
  const levels = [...new Set(list.flatMap(([, e]) => e.throughput.map((t) => t.concurrency)))].sort(
    (a, b) => a - b,
  );
  return barChart({
    title: "Warm calls per second by concurrent callers and engine",
    unit: "calls/s",
    scale: "linear",
    series: list.map(([name], i) => ({ key: name, label: name, color: engineColor(name, i) })),
    groups: levels.map((c) => ({
      label: `${c} caller${c === 1 ? "" : "s"}`,
      // One line per engine: a group is too narrow for two.
      note: list.flatMap(([name, e]) => {
        const t = e.throughput.find((x) => x.concurrency === c);
        const prefix = list.length > 1 ? `${name}: ` : "";
        return t ? [`${prefix}${count(t.recorded)} of ${count(t.requests)} calls recorded`] : [];
      }),
      targets:
        c === TARGETS.throughputConcurrency
          ? [{ value: TARGETS.callsPerSecond, label: `≥ ${count(TARGETS.callsPerSecond)} calls/s` }]
          : undefined,
      bars: list.map(([name, e]) => {
        const t = e.throughput.find((x) => x.concurrency === c);
        return {
          series: name,
          value: t ? t.perSecond : null,
          title: t
            ? `${name}, ${c} callers: ${count(t.perSecond)} calls/s; ${count(t.requests)} calls, ${count(t.recorded)} recorded, ${t.errors} errors; p50 ${ms(t.p50Ms)} ms, p99 ${ms(t.p99Ms)} ms`
            : `${name}: not measured`,
        };
      }),
    })),
    format: (v) => Math.round(v).toLocaleString("en-US"),
    tick: (v) => v.toLocaleString("en-US"),
    height: 340,
  });
}

/** Memory of one idle specialized instance, per runtime and engine. */
export function memoryChart(report: RunReport): string {
  const list = engines(report);
  return barChart({
    title: "Idle specialized instance memory by runtime and engine, MiB",
    unit: "MiB",
    scale: "linear",
    series: list.map(([name], i) => ({ key: name, label: name, color: engineColor(name, i) })),
    groups: runtimesOf(report).map((runtime) => ({
      label: runtime,
      targets: list.every(([, e]) => e.runtime === runtime)
        ? [{ value: TARGETS.idleMiB, label: `≤ ${TARGETS.idleMiB} MiB` }]
        : undefined,
      bars: list.map(([name, e]) => {
        const idle = detail(e, runtime)?.idle;
        return {
          series: name,
          value: idle ? idle.miB : null,
          title: idle
            ? `${name} ${runtime}: ${idle.miB} MiB (median of ${idle.perInstanceMiB.length} idle instance(s): ${idle.perInstanceMiB.join(", ")})`
            : `${name} ${runtime}: not measured`,
        };
      }),
    })),
    format: (v) => v.toFixed(1),
    tick: (v) => `${v} MiB`,
    width: 640,
    height: 300,
  });
}

/** Cells are HTML already (callers escape text). A header of null: a plain two-column listing. */
function table(header: string[] | null, rows: string[][], numericFrom = 1): string {
  const cell = (tag: string, text: string, i: number) =>
    `<${tag}${i >= numericFrom ? ' class="num"' : ""}>${text}</${tag}>`;
  const head = header
    ? `<thead><tr>${header.map((h, i) => cell("th", h, i)).join("")}</tr></thead>\n`
    : "";
  // Wide tables scroll inside their section instead of spilling out of it.
  return `<div class="table">\n<table>\n${head}<tbody>\n${rows
    .map((row) => `<tr>${row.map((c, i) => cell("td", c, i)).join("")}</tr>`)
    .join("\n")}\n</tbody>\n</table>\n</div>`;
}

/** Async calls: what each figure is and whether it meets its target. */
function asyncSection(a: AsyncResults): string {
  const c = a.completion;
  const rows = [
    [
      `enqueue throughput, ${CALLERS} callers, workers off`,
      `${count(Math.round(a.enqueue.perSecond))} 202s/s`,
      `p50 ${ms(a.enqueue.latencyMs.p50)} ms, p99 ${ms(a.enqueue.latencyMs.p99)} ms; ${count(a.enqueue.accepted)} accepted, ${count(a.enqueue.refused)} refused, ${count(a.enqueue.rowsQueued)} rows`,
      `≥ ${count(ASYNC_TARGETS.enqueuePerSecond)}/s ${badge(a.enqueue.perSecond >= ASYNC_TARGETS.enqueuePerSecond)}`,
    ],
    [
      "enqueue → start, warm function, one call at a time",
      `p50 ${ms(a.enqueueToStart.p50Ms)} ms`,
      `p99 ${ms(a.enqueueToStart.p99Ms)} ms; ${a.enqueueToStart.warm} of ${a.enqueueToStart.samples} warm`,
      `p50 ≤ ${ASYNC_TARGETS.enqueueToStartP50Ms} ms ${badge(a.enqueueToStart.p50Ms <= ASYNC_TARGETS.enqueueToStartP50Ms)}`,
    ],
    [
      `${count(c.calls)} calls queued at ${CALLERS} callers, workers on`,
      `${c.completionSeconds} s`,
      `${count(c.succeeded)} succeeded; ${c.lost} lost, ${c.duplicated} duplicated, ${c.retried} retried; queued in ${c.enqueueSeconds} s`,
      `0 lost, 0 duplicated ${badge(c.lost === 0 && c.duplicated === 0)}`,
    ],
  ];
  return `<section>
<h2>Async calls <span class="muted">(docker)</span></h2>
<p class="muted">POST with <code>X-Invocation-Type: async</code> to a server of its own; enqueue → start is the server's own queue wait (job created → attempt started).</p>
${table(
  ["figure", "measured", "detail", "target"],
  rows.map((r) => r.map((cell, i) => (i === 3 ? cell : esc(cell)))),
  9,
)}
</section>`;
}

function badge(met: boolean | null): string {
  if (met === null) return '<span class="badge na">n/a</span>';
  return met ? '<span class="badge met">met</span>' : '<span class="badge missed">missed</span>';
}

function latencyTable(report: RunReport, runtime: RuntimeName): string {
  const rows: string[][] = [];
  for (const [name, e] of engines(report)) {
    const d = detail(e, runtime);
    if (!d) continue;
    for (const phase of PHASES) {
      const p = d[phase];
      if (!p) continue;
      const l = p.latency;
      const problems = [
        p.mismatches.length ? `${p.mismatches.length} started otherwise` : "",
        p.failures.length ? `${p.failures.length} failed: ${esc(p.failures[0]!.error)}` : "",
      ]
        .filter(Boolean)
        .join("; ");
      rows.push([
        `${esc(name)}`,
        phase,
        count(l.samples),
        ms(l.p50Ms),
        ms(l.p95Ms),
        ms(l.p99Ms),
        `${ms(l.minMs)} – ${ms(l.maxMs)}`,
        ms(p.server.totalP50Ms),
        phase === "warm" ? dash : ms(p.server.startP50Ms),
        problems || "none",
      ]);
    }
    if (d.baseline) {
      const l = d.baseline.latency;
      rows.push([
        esc(name),
        "naive run",
        count(l.samples),
        ms(l.p50Ms),
        ms(l.p95Ms),
        ms(l.p99Ms),
        `${ms(l.minMs)} – ${ms(l.maxMs)}`,
        dash,
        dash,
        dash,
      ]);
    }
  }
  return table(
    [
      "engine",
      "phase",
      "samples",
      "p50",
      "p95",
      "p99",
      "min – max",
      "server p50",
      "of it boot / specialize",
      "excluded",
    ],
    rows,
    2,
  );
}

function throughputTable(report: RunReport): string {
  const rows: string[][] = [];
  for (const [name, e] of engines(report)) {
    for (const t of e.throughput) {
      const notWarm = t.requests - (t.starts.warm ?? 0);
      rows.push([
        esc(name),
        String(t.concurrency),
        count(t.perSecond),
        count(t.requests),
        `${count(t.recorded)}${t.recorded === t.requests ? "" : ' <span class="badge missed">missing</span>'}`,
        String(t.errors),
        String(notWarm),
        ms(t.p50Ms),
        ms(t.p99Ms),
        String(t.instances),
        t.cpuPerCallUs.server === null ? dash : t.cpuPerCallUs.server.toFixed(0),
        t.cpuPerCallUs.instances.toFixed(0),
      ]);
    }
  }
  return table(
    [
      "engine",
      "callers",
      "calls/s",
      "calls",
      "recorded",
      "errors",
      "not warm",
      "p50 ms",
      "p99 ms",
      "instances",
      "server CPU µs/call",
      "instances' CPU µs/call",
    ],
    rows,
  );
}

/** "2,277/s", "502×", "9.9 MiB", "2,298 of 2,298": each unit the way it reads. */
export function targetValue(t: EngineReport["targets"][number]): string {
  if (t.value === null) return dash;
  const unit = t.unit.replace(/\d+/g, (d) => Number(d).toLocaleString("en-US"));
  if (t.unit === "MiB") return `${t.value.toFixed(1)} MiB`;
  if (/^[/×]/.test(unit)) return `${formatValue(t.value)}${unit}`;
  return `${formatValue(t.value)} ${unit}`.trim();
}

/** One row per target any engine has; each engine is judged by its own goal (Nanos's differ). */
function targetsTable(report: RunReport): string {
  const list = engines(report);
  const whats = [...new Set(list.flatMap(([, e]) => e.targets.map((t) => t.what)))];
  const rows = whats.map((what) => [
    esc(what),
    ...list.map(([, e]) => {
      const x = e.targets.find((t) => t.what === what);
      if (!x) return `${dash} <span class="muted">no target</span>`;
      return `${esc(targetValue(x))} ${badge(x.met)} <span class="muted">(${esc(x.goal)})</span>`;
    }),
  ]);
  return table(["", ...list.map(([name]) => esc(name))], rows, 1);
}

function summaryCards(report: RunReport): string {
  return engines(report)
    .map(([name, e], i) => {
      const met = e.targets.filter((t) => t.met === true).length;
      const judged = e.targets.filter((t) => t.met !== null).length;
      const c = e.throughput.find((t) => t.concurrency === TARGETS.throughputConcurrency);
      const figures: Array<[string, string]> = [
        ["warm p50", `${ms(e.warm?.p50Ms)} ms`],
        ["prewarm p50", `${ms(e.prewarm?.p50Ms)} ms`],
        ["cold p50", `${ms(e.cold?.p50Ms)} ms`],
        ["naive run p50", `${ms(e.baseline?.p50Ms)} ms`],
        [
          `calls/s, ${c?.concurrency ?? TARGETS.throughputConcurrency} callers`,
          count(c?.perSecond),
        ],
        [
          "idle instance",
          e.idleInstanceMiB === null ? dash : `${e.idleInstanceMiB.toFixed(1)} MiB`,
        ],
      ];
      return `<div class="card" style="border-top-color:${engineColor(name, i)}">
<h3>${esc(name)} <span class="muted">· ${esc(e.runtime)}</span></h3>
<dl>${figures.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${v}</dd></div>`).join("")}</dl>
<p class="targets-line">${met} of ${judged} targets met${e.ratioWarmVsBaseline ? ` · warm ${count(e.ratioWarmVsBaseline)}× faster than the naive run` : ""}</p>
</div>`;
    })
    .join("\n");
}

function duration(from: string, to: string): string {
  const s = Math.round((Date.parse(to) - Date.parse(from)) / 1000);
  if (!Number.isFinite(s)) return dash;
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

const when = (iso: string) => `${iso.slice(0, 16).replace("T", " ")} UTC`;
const load = (l?: number[]) => (l && l.length > 0 ? l.map((x) => x.toFixed(2)).join(" / ") : dash);

function howMeasured(report: RunReport): string {
  const m = report.machine;
  const list = engines(report);
  const machineRows: string[][] = [
    ["CPU", `${esc(m.cpuModel)}, ${m.cores} cores`],
    ["memory", `${m.memoryGiB} GiB`],
    ["system", `${esc(m.os)}, kernel ${esc(m.kernel)}`],
    ["Node.js", esc(m.node)],
    ["Python (runtime images)", esc(m.python ?? "not found")],
    ["Docker engine", esc(m.docker ?? "not found")],
    ["QEMU", esc(m.qemu ?? "not found")],
    ["load average (1 / 5 / 15 min)", `${load(m.loadBefore)} before, ${load(m.loadAfter)} after`],
  ];
  const settings = list.map(([name, e]) => {
    const s = e.settings as Record<string, unknown>;
    const levels = Array.isArray(s.concurrency) ? s.concurrency.join(", ") : dash;
    return `<li><b>${esc(name)}</b>: ${esc(s.coldSamples)} cold and ${esc(s.prewarmSamples)} prewarm samples per runtime, ${esc(s.warmSamples)} warm calls after ${esc(s.warmup)} warm-ups, ${esc(s.baselineSamples)} naive runs, ${esc(s.throughputSeconds)} s of load at ${esc(levels)} callers; generic stock ${esc(s.genericPerRuntime)} per runtime, functions of ${esc(s.functionMemoryMb)} MB; run ${esc(when(e.startedAt))}, ${duration(e.startedAt, e.finishedAt)}</li>`;
  });
  const baselines = list.flatMap(([name, e]) =>
    Object.entries(e.detail)
      .filter(([, d]) => d.baseline)
      .map(
        ([runtime, d]) =>
          `<li>${esc(name)} ${esc(runtime)}: <code>${esc(d.baseline!.command)}</code></li>`,
      ),
  );
  const checks = list.flatMap(([name, e]) => [
    `<li>${esc(name)}: ${count(e.records.recorded)} of ${count(e.records.calls)} calls of all phases have their invocation row ${badge(e.records.recorded === e.records.calls)}</li>`,
    ...e.shutdowns.map(
      (s) =>
        `<li>${esc(name)}: the ${esc(s.server)} server ${s.clean ? `exited (${esc(s.code ?? s.signal)}) ${s.ms} ms after SIGTERM` : "had to be killed 60 s after SIGTERM"}, ${s.leftInstances > 0 ? `leaving ${s.leftInstances} instance(s), which the benchmark removed` : "leaving no instance behind"}</li>`,
    ),
    ...(e.serverProblems.length > 0
      ? [
          `<li>${esc(name)}: ${e.serverProblems.length} server log line(s) that look like failures, e.g. <code>${esc(e.serverProblems[0])}</code></li>`,
        ]
      : []),
  ]);
  const notRun = [
    ...report.skipped.map((s) => `<li><b>${esc(s.engine)}</b> skipped: ${esc(s.reason)}</li>`),
    ...report.failed.map((f) => `<li><b>${esc(f.engine)}</b> failed: ${esc(f.error)}</li>`),
  ];
  return `<p>Command: <code>${esc(report.command)}</code>, ${esc(when(report.startedAt))} to ${esc(when(report.finishedAt))} (${duration(report.startedAt, report.finishedAt)}).</p>
<p>The tool starts its own Cloudless server as a child process (embedded PostgreSQL, temporary data folder), deploys a trivial function per runtime (<code>return {"ok": true}</code>) through the SDK, and times every call end to end through <code>GET /api/function/{userId}/{handler}/{engine}</code> with a thin HTTP client. Percentiles are nearest-rank (always a measured value). Each response's <code>start</code> is checked against the phase; samples that started otherwise are excluded and counted.</p>
<ul>
<li><b>cold</b>: a server with no generic stock; before each sample a new version is uploaded and the engine is left to settle, then one call boots an instance.</li>
<li><b>prewarm</b>: a server with a generic stock; before each sample a new version, then a wait until the stock is full and every agent answers as generic; the call specializes one.</li>
<li><b>warm</b>: after warm-up calls, sequential calls on one kept-alive connection to an idle specialized instance.</li>
<li><b>naive run</b>: what a platform without pools does per call: a fresh instance of the same runtime image runs the same work and is thrown away.</li>
<li><b>throughput</b>: a closed loop of N callers, each on its own connection, after warm-ups until the pool stops growing; <i>recorded</i> counts the invocation rows written for exactly the window's calls.</li>
<li><b>idle memory</b>: the idle specialized instance after the warm phase, as the engine's own tools report it (Docker: usage minus inactive file cache, what <code>docker stats</code> shows).</li>
</ul>
<h3>Samples</h3>
<ul>${settings.join("\n")}</ul>
<h3>Machine</h3>
${table(null, machineRows, 2)}
<p class="muted">The machine is shared with other work; the load average shows how busy it was. Figures from a busier machine are slower, not wrong.</p>
<h3>Baseline commands</h3>
<ul>${baselines.join("\n") || "<li>none</li>"}</ul>
<h3>Checks</h3>
<ul>${checks.join("\n")}</ul>
${notRun.length > 0 ? `<h3>Engines not measured</h3>\n<ul>${notRun.join("\n")}</ul>` : ""}`;
}

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f6f9; color: #111827;
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 28px 20px 60px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0 0 6px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
p { margin: 6px 0; }
.muted { color: #6b7280; font-weight: normal; }
.lead { color: #374151; margin-bottom: 18px; }
section { background: #fff; border: 1px solid #e3e7ee; border-radius: 10px; padding: 18px 20px; margin: 18px 0; }
.warning { background: #fff7ed; border: 1px solid #fdba74; border-radius: 8px; padding: 10px 14px; margin: 12px 0; }
.skipped { background: #f8fafc; border: 1px dashed #cbd5e1; border-radius: 8px; padding: 8px 14px; margin: 8px 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 14px; }
.card { background: #fff; border: 1px solid #e3e7ee; border-top: 4px solid #2563eb; border-radius: 10px; padding: 12px 16px; }
.card h3 { margin: 0 0 8px; font-size: 17px; }
.card dl { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px 12px; margin: 0; }
.card dt { color: #6b7280; font-size: 12px; }
.card dd { margin: 0; font-size: 17px; font-weight: 600; font-variant-numeric: tabular-nums; }
.targets-line { color: #374151; font-size: 13px; margin-top: 10px; }
svg.chart { width: 100%; height: auto; display: block; margin: 8px 0 4px; }
svg.chart.narrow { max-width: 640px; }
div.table { overflow-x: auto; margin: 8px 0; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 5px 8px; border-bottom: 1px solid #edf0f4; text-align: left; vertical-align: top; }
th { color: #4b5563; font-weight: 600; background: #f8fafc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f3f4f6; padding: 1px 4px; border-radius: 4px; overflow-wrap: anywhere; }
.badge { display: inline-block; font-size: 11px; font-weight: 600; padding: 0 7px; border-radius: 9px; margin-left: 4px; }
.badge.met { background: #dcfce7; color: #166534; }
.badge.missed { background: #fee2e2; color: #991b1b; }
.badge.na { background: #f3f4f6; color: #6b7280; }
ul { margin: 6px 0; padding-left: 20px; }
li { margin: 3px 0; }
footer { color: #6b7280; font-size: 12px; text-align: center; margin-top: 24px; }
`;

export function renderHtml(report: RunReport): string {
  const list = engines(report);
  const names = list.map(([name]) => name);
  const runtimes = runtimesOf(report);
  const title = `Cloudless benchmark — ${names.join(" vs ") || "no engine"} — ${report.startedAt.slice(0, 10)}`;
  const skipped = report.skipped.map(
    (s) => `<p class="skipped"><b>${esc(s.engine)}</b> not measured: ${esc(s.reason)}</p>`,
  );
  const failed = report.failed.map(
    (f) => `<p class="warning"><b>${esc(f.engine)}</b> failed part way: ${esc(f.error)}</p>`,
  );
  const latency = runtimes.map(
    (runtime, i) => `<section>
<h2>Latency — ${esc(runtime)}${i === 0 ? ' <span class="muted">(headline runtime)</span>' : ""}</h2>
<p class="muted">End to end through the HTTP route, milliseconds, log scale (values span 0.5 ms to seconds). Bars per engine: p50, p95, p99. Dashed red lines: the targets, written under each group.</p>
${latencyChart(report, runtime)}
${latencyTable(report, runtime)}
<p class="muted">server p50: the server's own <code>timings.totalMs</code> (acquire, boot or specialize, agent round trip); the rest of p50 is HTTP, function lookup, auth and the client.</p>
</section>`,
  );
  const body = list.length
    ? `<div class="cards">${summaryCards(report)}</div>
${latency.join("\n")}
<section>
<h2>Throughput versus concurrency <span class="muted">(${esc(list[0]![1].runtime)})</span></h2>
<p class="muted">Warm calls per second in a closed loop; under each group, how many of the window's calls have their invocation row.</p>
${throughputChart(report)}
${throughputTable(report)}
</section>
<section>
<h2>Idle memory per instance</h2>
<p class="muted">An idle specialized instance after the warm phase (median when there are several).</p>
${memoryChart(report).replace('class="chart"', 'class="chart narrow"')}
</section>
<section>
<h2>Targets</h2>
<p class="muted">From the issues, for the headline runtime; compared here, not asserted.</p>
${targetsTable(report)}
</section>`
    : report.async
      ? ""
      : '<section><p class="warning">No engine was measured.</p></section>';
  const asyncPart = report.async ? asyncSection(report.async) : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>Cloudless benchmark</h1>
<p class="lead">${esc(names.join(" versus ") || "No engine")} · ${esc(when(report.finishedAt))} · ${esc(report.machine.cpuModel)}, ${report.machine.cores} cores, ${report.machine.memoryGiB} GiB · load ${load(report.machine.loadBefore)} before, ${load(report.machine.loadAfter)} after</p>
${report.quick ? '<p class="warning"><b>Quick run</b> (<code>--quick</code>): tiny samples to check the tool end to end; these are not figures to quote.</p>' : ""}
${failed.join("\n")}
${skipped.join("\n")}
${body}
${asyncPart}
<section>
<h2>How this was measured</h2>
${howMeasured(report)}
</section>
<footer>Written by <code>npm run benchmark</code> (benchmark/). Self-contained: no scripts, fonts or network requests.</footer>
</main>
</body>
</html>
`;
}
