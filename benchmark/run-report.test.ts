import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { toJson } from "./report";
import { fileStamp, parseRunReport, readRunReport, writeRunReport } from "./run-report";
import { benchResults, runReport } from "./test-fixtures";

describe("fileStamp", () => {
  it("is ISO-like, sortable and has no colons", () => {
    expect(fileStamp("2026-11-30T11:38:51.724Z")).toBe("2026-11-30T11-38-51Z");
  });
});

describe("parseRunReport", () => {
  it("takes a run report as it is", () => {
    const report = runReport();
    expect(parseRunReport(JSON.parse(JSON.stringify(report)))).toEqual(report);
  });

  it("wraps an older single-engine file (--json) into a run report", () => {
    const single = JSON.parse(JSON.stringify(toJson(benchResults("docker"))));
    const report = parseRunReport(single);
    expect(Object.keys(report.engines)).toEqual(["docker"]);
    expect(report.machine.cores).toBe(2);
    expect(report.machine.loadBefore).toEqual([1, 2, 3]);
    expect(report.command).toBe("npm run benchmark");
  });

  it("refuses anything else", () => {
    expect(() => parseRunReport({ hello: 1 })).toThrow(/Not a benchmark results file/);
  });
});

describe("writeRunReport", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("writes <stamp>.json/.html and copies them to latest.*", async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "bench-report-"));
    const written = await writeRunReport(dir, runReport(), "<html></html>");
    expect(path.basename(written.json)).toBe("2026-11-30T11-38-51Z.json");
    expect(written.latest).toBe(true);
    expect((await fs.readdir(dir)).sort()).toEqual([
      "2026-11-30T11-38-51Z.html",
      "2026-11-30T11-38-51Z.json",
      "latest.html",
      "latest.json",
    ]);
    expect(await readRunReport(path.join(dir, "latest.json"))).toEqual(runReport());
  });

  it("gives a quick run a -quick name and leaves latest.* alone", async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "bench-report-"));
    const written = await writeRunReport(dir, { ...runReport(), quick: true }, "<html></html>");
    expect(written.latest).toBe(false);
    expect((await fs.readdir(dir)).sort()).toEqual([
      "2026-11-30T11-38-51Z-quick.html",
      "2026-11-30T11-38-51Z-quick.json",
    ]);
  });

  it("says how to get results when there are none", async () => {
    await expect(readRunReport("/nonexistent/latest.json")).rejects.toThrow(
      /run `npm run benchmark` first/,
    );
  });
});
