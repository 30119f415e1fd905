import { describe, expect, it } from "vitest";
import { asyncTable, markdownTable, readmeSection, replaceSection, resultsTable } from "./markdown";
import { asyncResults, runReport } from "./test-fixtures";

const rowsOf = (table: string) => table.split("\n").slice(2);

describe("markdownTable", () => {
  it("writes a header, an alignment rule and one line per row, escaping pipes", () => {
    const table = markdownTable(["name", "value"], [["a|b", "1"]]);
    expect(table).toBe("| name | value |\n|---|---:|\n| a\\|b | 1 |");
  });
});

describe("asyncTable", () => {
  it("gives each async figure beside its target", () => {
    const rows = rowsOf(asyncTable(asyncResults()));
    expect(rows).toEqual([
      "| enqueue throughput, 32 callers (202s/s) | 612 (p50 41.5 ms) | ≥ 1,000 |",
      "| enqueue → start, warm function (ms) | p50 9.00, p99 29.0 | p50 ≤ 20 |",
      "| 10,000 queued calls | done in 71.3 s (140/s); 0 lost, 0 duplicated, 0 retried | 0 lost, 0 duplicated |",
    ]);
  });

  it("is in the README section only when the run measured it", () => {
    const report = runReport(["docker"]);
    expect(readmeSection(report)).not.toContain("enqueue throughput");
    expect(readmeSection({ ...report, async: asyncResults() })).toContain(
      "| enqueue throughput, 32 callers (202s/s) |",
    );
  });
});

describe("resultsTable", () => {
  it("has a row per engine and runtime with p50 / p99 pairs", () => {
    const table = resultsTable(runReport());
    const rows = rowsOf(table);
    expect(rows).toHaveLength(4);
    expect(rows.map((r) => r.split(" | ").slice(0, 2).join(" "))).toEqual([
      "| docker python",
      "| docker node",
      "| nanos python",
      "| nanos node",
    ]);
    // docker python: cold [240, 300, 420, 900] → p50 300, p99 900.
    expect(rows[0]).toContain("| 300 / 900 |");
    expect(rows[0]).toContain("| 0.50 / 4.20 |");
    expect(rows[0]).toContain("9.9 MiB");
    expect(rows[0]).toContain("2,200 / 2,700 / 3,400 (all recorded)");
    // Throughput is the headline runtime's only.
    expect(rows[1]!.endsWith("| – |")).toBe(true);
    expect(table.split("\n")[0]).toContain("warm calls/s at 1 / 8 / 32 callers");
  });

  it("says so when some calls of the window were not recorded", () => {
    const report = runReport(["docker"]);
    report.engines.docker!.throughput[2]!.recorded -= 1;
    expect(resultsTable(report)).toContain("(some not recorded)");
  });
});

describe("readmeSection", () => {
  it("states the command, date and machine, links the HTML report and lists missed targets", () => {
    const report = runReport(["docker"]);
    report.skipped.push({
      engine: "nanos",
      reason: "No Nanos kernel found (NANOS_KERNEL is unset). Install ops (curl …).",
    });
    const section = readmeSection(report);
    expect(section).toContain("`npm run benchmark` on 2026-11-30");
    expect(section).toContain("AMD EPYC, 2 cores, 24 GiB");
    expect(section).toContain("[benchmark/results/latest.html](benchmark/results/latest.html)");
    expect(section).toContain("| engine | runtime |");
    expect(section).toMatch(/- docker: \d of 8 targets met/);
    // Only the first sentence of a skip reason: the HTML report has the rest.
    expect(section).toContain(
      "- nanos: not measured — No Nanos kernel found (NANOS_KERNEL is unset).",
    );
    expect(section).not.toContain("Install ops");
  });
});

describe("replaceSection", () => {
  const readme = [
    "# Project",
    "",
    "## Engines",
    "",
    "Text.",
    "",
    "```sh",
    "## not a heading, a comment in code",
    "```",
    "",
    "## Configuration",
    "",
    "Table.",
    "",
  ].join("\n");

  it("inserts a missing section before the named heading", () => {
    const out = replaceSection(readme, "Benchmark", "Figures.", "Configuration");
    expect(out).toContain("```\n\n## Benchmark\n\nFigures.\n\n## Configuration");
    expect(out.endsWith("Table.\n")).toBe(true);
  });

  it("replaces an existing section up to the next heading of its level, and is idempotent", () => {
    const once = replaceSection(
      readme,
      "Benchmark",
      "Old.\n\n### Detail\n\nMore.",
      "Configuration",
    );
    const twice = replaceSection(once, "Benchmark", "New.", "Configuration");
    expect(twice).toContain("## Benchmark\n\nNew.\n\n## Configuration");
    expect(twice).not.toContain("Old.");
    expect(twice).not.toContain("### Detail");
    expect(replaceSection(twice, "Benchmark", "New.", "Configuration")).toBe(twice);
  });

  it("ignores heading-like lines inside code blocks", () => {
    const out = replaceSection(readme, "Engines", "Replaced.");
    expect(out).toContain("## Engines\n\nReplaced.\n\n## Configuration");
    expect(out).not.toContain("not a heading");
  });

  it("appends when there is neither the section nor the anchor", () => {
    const out = replaceSection("# Title\n\nIntro.\n", "Benchmark", "Figures.");
    expect(out).toBe("# Title\n\nIntro.\n\n## Benchmark\n\nFigures.\n");
  });
});
