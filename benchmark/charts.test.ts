import { describe, expect, it } from "vitest";
import {
  type BarChartSpec,
  barChart,
  escapeXml,
  formatMsTick,
  formatValue,
  linearAxis,
  logAxis,
  tint,
} from "./charts";
import { xmlProblems } from "./test-fixtures";

const bars = (svg: string) => svg.match(/<rect class="bar"/g)?.length ?? 0;

function spec(overrides: Partial<BarChartSpec> = {}): BarChartSpec {
  return {
    title: "Latency",
    unit: "ms",
    scale: "log",
    series: [
      { key: "docker-p50", label: "docker p50", color: "#2563eb", cluster: "docker" },
      { key: "docker-p99", label: "docker p99", color: "#93c5fd", cluster: "docker" },
      { key: "nanos-p50", label: "nanos p50", color: "#ea580c", cluster: "nanos" },
      { key: "nanos-p99", label: "nanos p99", color: "#fdba74", cluster: "nanos" },
    ],
    groups: [
      {
        label: "cold",
        targets: [{ value: 300, label: "p50 ≤ 300 ms" }],
        bars: [
          { series: "docker-p50", value: 420 },
          { series: "docker-p99", value: 1400 },
          { series: "nanos-p50", value: 900 },
          { series: "nanos-p99", value: 2500 },
        ],
      },
      {
        label: "warm",
        note: "idle instance",
        bars: [
          { series: "docker-p50", value: 0.5 },
          { series: "docker-p99", value: 5.8 },
          { series: "nanos-p50", value: 0.9 },
          { series: "nanos-p99", value: 9.1 },
        ],
      },
    ],
    ...overrides,
  };
}

describe("barChart", () => {
  it("is well-formed SVG with one bar per measured value", () => {
    const svg = barChart(spec());
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(xmlProblems(svg)).toEqual([]);
    expect(bars(svg)).toBe(8);
    // Every bar has its tooltip and its printed value.
    expect(svg.match(/<rect class="bar"[^>]*><title>/g)).toHaveLength(8);
    expect(svg.match(/<text class="value"/g)).toHaveLength(8);
  });

  it("keeps a slot marked n/a for a value not measured, drawing no bar for it", () => {
    const s = spec();
    s.groups[1]!.bars[3]!.value = null;
    const svg = barChart(s);
    expect(bars(svg)).toBe(7);
    expect(svg.match(/>n\/a</g)).toHaveLength(1);
    expect(xmlProblems(svg)).toEqual([]);
  });

  it("draws bars of the same series at the same offset in every group", () => {
    const svg = barChart(spec());
    const xs = (series: string) =>
      [...svg.matchAll(new RegExp(`data-series="${series}" x="([\\d.]+)"`, "g"))].map((m) =>
        Number(m[1]),
      );
    const [a1, a2] = xs("docker-p50");
    const [b1, b2] = xs("nanos-p99");
    expect(b1! - a1!).toBeCloseTo(b2! - a2!, 1);
  });

  it("on a log scale, a ten times larger value stands one decade taller", () => {
    const svg = barChart(
      spec({
        series: [{ key: "a", label: "a", color: "#000000" }],
        groups: [
          { label: "x", bars: [{ series: "a", value: 1 }] },
          { label: "y", bars: [{ series: "a", value: 10 }] },
          { label: "z", bars: [{ series: "a", value: 100 }] },
        ],
      }),
    );
    const heights = [...svg.matchAll(/class="bar"[^>]* height="([\d.]+)"/g)].map((m) =>
      Number(m[1]),
    );
    expect(heights).toHaveLength(3);
    expect(heights[2]! - heights[1]!).toBeCloseTo(heights[1]! - heights[0]!, 0);
  });

  it("draws target lines and writes the targets under their group, with a legend entry", () => {
    const svg = barChart(spec());
    expect(svg.match(/<line class="target"/g)).toHaveLength(1);
    expect(svg).toContain(">p50 ≤ 300 ms</text>");
    expect(svg).toContain(">target</text>");
    expect(svg).toContain(">idle instance</text>");
  });

  it("escapes text, so labels cannot break the markup", () => {
    const svg = barChart(
      spec({
        title: 'a <b> & "c"',
        series: [{ key: "s", label: "<script>", color: "#000000" }],
        groups: [{ label: "x & y", bars: [{ series: "s", value: 3, title: "1 < 2" }] }],
      }),
    );
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).not.toContain("<script>");
    expect(svg).toContain("&lt;script&gt;");
    expect(bars(svg)).toBe(1);
  });

  it("turns value labels upright only when every one fits over its bar", () => {
    const narrow = barChart(spec());
    expect(narrow).toContain('class="value" x=');
    const wide = barChart(
      spec({
        series: [{ key: "a", label: "a", color: "#000000" }],
        groups: [{ label: "x", bars: [{ series: "a", value: 3 }] }],
      }),
    );
    expect(wide).not.toContain("rotate(");
    const crowded = barChart(
      spec({
        width: 400,
        groups: spec().groups.map((g) => ({
          ...g,
          bars: g.bars.map((b) => ({ ...b, value: 12345 })),
        })),
      }),
    );
    expect(crowded).toContain("rotate(-90");
  });
});

describe("axes", () => {
  it("a log axis spans whole decades around the values, the smallest bar more than a sliver", () => {
    expect(logAxis([1, 100], 0).ticks[0]).toBe(0.1);
    expect(logAxis([0.12, 100], 0).ticks[0]).toBe(0.01);
    const axis = logAxis([0.5, 1400], 0);
    expect(axis.ticks).toEqual([0.1, 1, 10, 100, 1000, 10000]);
    expect(axis.position(0.1)).toBe(0);
    expect(axis.position(10000)).toBe(1);
    expect(axis.position(0.01)).toBe(0);
  });

  it("a log axis adds a decade when the tallest bar leaves no room for its label", () => {
    expect(logAxis([0.5, 9000], 0.1).ticks.at(-1)).toBe(100000);
    expect(logAxis([0.5, 2000], 0.1).ticks.at(-1)).toBe(10000);
  });

  it("a linear axis starts at zero in round steps above the largest value", () => {
    const axis = linearAxis([2242, 3445], 0.1);
    expect(axis.ticks[0]).toBe(0);
    expect(axis.ticks.at(-1)!).toBeGreaterThan(3445 / 0.9);
    const steps = axis.ticks.slice(1).map((t, i) => t - axis.ticks[i]!);
    expect(new Set(steps).size).toBe(1);
    expect([100, 200, 250, 500, 1000]).toContain(steps[0]);
  });
});

describe("formatting", () => {
  it("keeps about three significant figures", () => {
    expect(formatValue(0.503)).toBe("0.503");
    expect(formatValue(5.827)).toBe("5.83");
    expect(formatValue(18.159)).toBe("18.2");
    expect(formatValue(425.706)).toBe("426");
    expect(formatValue(1414.12)).toBe("1,414");
  });

  it("labels millisecond ticks, in seconds from 1,000 ms", () => {
    expect(formatMsTick(0.1)).toBe("0.1 ms");
    expect(formatMsTick(100)).toBe("100 ms");
    expect(formatMsTick(1000)).toBe("1 s");
    expect(formatMsTick(10000)).toBe("10 s");
  });

  it("tints toward white and escapes XML", () => {
    expect(tint("#000000", 0.5)).toBe("#808080");
    expect(tint("#2563eb", 0)).toBe("#2563eb");
    expect(escapeXml(`<a href="x">&'`)).toBe("&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  });
});
