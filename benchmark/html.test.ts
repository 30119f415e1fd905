import { describe, expect, it } from "vitest";
import { latencyChart, memoryChart, renderHtml, targetValue, throughputChart } from "./html";
import { asyncResults, runReport, xmlProblems } from "./test-fixtures";

const bars = (svg: string) => svg.match(/<rect class="bar"/g)?.length ?? 0;
const svgs = (html: string) => html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];

describe("the charts of a run report", () => {
  it("latency: p50, p95 and p99 of every engine for cold, prewarm, warm and the baseline", () => {
    const svg = latencyChart(runReport(), "python");
    expect(xmlProblems(svg)).toEqual([]);
    expect(bars(svg)).toBe(2 * 3 * 4);
    expect(svg).toContain(">naive run (baseline)</text>");
    // The headline runtime carries the targets: cold, prewarm and two for warm.
    expect(svg.match(/<line class="target"/g)).toHaveLength(4);
    expect(bars(latencyChart(runReport(["docker"]), "python"))).toBe(3 * 4);
  });

  it("latency of another runtime has no target lines (the targets are the headline's)", () => {
    expect(latencyChart(runReport(), "node")).not.toContain('class="target"');
  });

  it("throughput: one bar per engine and concurrency, with the recorded counts", () => {
    const svg = throughputChart(runReport());
    expect(xmlProblems(svg)).toEqual([]);
    expect(bars(svg)).toBe(2 * 3);
    expect(svg).toContain(">docker: 17,000 of 17,000 calls recorded</text>");
    expect(svg).toContain(">32 callers</text>");
  });

  it("memory: one bar per engine and runtime", () => {
    const svg = memoryChart(runReport());
    expect(xmlProblems(svg)).toEqual([]);
    expect(bars(svg)).toBe(2 * 2);
  });
});

describe("renderHtml", () => {
  const html = renderHtml(runReport());

  it("is one self-contained page: inline style, no script, no external resource", () => {
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).toContain("<style>");
    expect(html).not.toMatch(/<script|<link|@import|url\(/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
  });

  it("holds two latency charts, throughput and memory, every one well-formed", () => {
    const charts = svgs(html);
    expect(charts).toHaveLength(4);
    for (const svg of charts) expect(xmlProblems(svg)).toEqual([]);
    expect(charts.map(bars)).toEqual([24, 24, 6, 4]);
  });

  it("has an async section, with its targets judged, only when the run measured it", () => {
    expect(html).not.toContain("<h2>Async calls");
    const withAsync = renderHtml({ ...runReport(), async: asyncResults() });
    const section = withAsync.slice(withAsync.indexOf("<h2>Async calls")).split("</section>")[0]!;
    expect(section).toContain("612 202s/s");
    expect(section.match(/class="badge (met|missed)"/g)).toEqual([
      'class="badge missed"',
      'class="badge met"',
      'class="badge met"',
    ]);
  });

  it("marks each target met or missed per engine, and says how it was measured", () => {
    expect(html).toContain("<h2>Targets</h2>");
    // Docker is judged on its eight targets, Nanos on its own four (TCG goals).
    const section = html.slice(html.indexOf("<h2>Targets</h2>")).split("<h2>")[1]!;
    expect(section.match(/class="badge (met|missed)"/g)!.length).toBe(12);
    expect(html).toContain("(≤ 3 ms)");
    expect(html).toContain("no target");
    expect(html).toContain("<h2>How this was measured</h2>");
    expect(html).toContain("<code>npm run benchmark</code>");
    expect(html).toContain("1.00 / 2.00 / 3.00 before, 2.00 / 3.00 / 4.00 after");
    expect(html).toContain("QEMU");
  });

  it("lists skipped and failed engines with their reasons, escaped", () => {
    const report = runReport(["docker"]);
    report.skipped.push({ engine: "nanos", reason: "no kernel <here> & no mkfs" });
    report.failed.push({ engine: "nanos", error: "boom" });
    const page = renderHtml(report);
    expect(page).toContain("not measured: no kernel &lt;here&gt; &amp; no mkfs");
    expect(page).toContain("failed part way: boom");
  });

  it("warns that a quick run's figures are not to be quoted", () => {
    const report = runReport(["docker"]);
    report.quick = true;
    expect(renderHtml(report)).toContain("Quick run");
    expect(html).not.toContain("Quick run");
  });
});

describe("targetValue", () => {
  const t = (value: number | null, unit: string) => ({
    what: "",
    goal: "",
    value,
    unit,
    met: null,
  });

  it("writes each unit the way it reads", () => {
    expect(targetValue(t(2277, "/s"))).toBe("2,277/s");
    expect(targetValue(t(502, "×"))).toBe("502×");
    expect(targetValue(t(9.9, "MiB"))).toBe("9.9 MiB");
    expect(targetValue(t(0.918, "ms"))).toBe("0.918 ms");
    expect(targetValue(t(2298, "of 2298"))).toBe("2,298 of 2,298");
    expect(targetValue(t(null, "ms"))).toBe("–");
  });
});
