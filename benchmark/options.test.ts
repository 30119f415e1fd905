import path from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_RESULTS_DIR, parseOptions } from "./options";

describe("parseOptions", () => {
  it("with no arguments: every available engine, the report in benchmark/results", () => {
    const o = parseOptions([]);
    expect(o.engines).toBeUndefined();
    expect(o.resultsDir).toBe(DEFAULT_RESULTS_DIR);
    expect(o.task).toBeUndefined();
    expect(o.json).toBeUndefined();
    expect(o.quick).toBe(false);
    expect(o.coldSamples).toBe(15);
  });

  it("--engine docker --json FILE as before", () => {
    const o = parseOptions(["--engine", "docker", "--json", "out.json"]);
    expect(o.engines).toEqual(["docker"]);
    expect(o.json).toBe("out.json");
  });

  it("--quick shrinks the samples; --no-report writes none", () => {
    const o = parseOptions(["--quick", "--no-report"]);
    expect(o.quick).toBe(true);
    expect(o.coldSamples).toBe(3);
    expect(o.durationMs).toBe(1000);
    expect(o.resultsDir).toBeUndefined();
  });

  it("--readme and --update-readme read latest.json unless given a file; --render a file", () => {
    expect(parseOptions(["--readme"]).task).toEqual({
      kind: "readme",
      file: path.join(DEFAULT_RESULTS_DIR, "latest.json"),
    });
    expect(parseOptions(["--update-readme", "x.json"]).task).toEqual({
      kind: "update-readme",
      file: path.resolve("x.json"),
    });
    expect(parseOptions(["--render", "y.json"]).task).toEqual({
      kind: "render",
      file: path.resolve("y.json"),
    });
  });
});
