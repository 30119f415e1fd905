/**
 * Grouped bar charts as inline SVG strings, so the HTML report needs no
 * script, font or stylesheet from anywhere and opens offline. Pure: the same
 * spec always gives the same markup (the tests count its bars).
 */

export interface ChartSeries {
  key: string;
  label: string;
  color: string;
  /** Series of one cluster sit together in a group; a gap separates clusters (one per engine). */
  cluster?: string;
}

export interface ChartBar {
  series: string;
  /** Null: not measured (an empty slot marked "n/a", so groups stay aligned). */
  value: number | null;
  /** Tooltip; defaults to "series: value unit". */
  title?: string;
}

export interface ChartGroup {
  label: string;
  /** Smaller lines under the label. */
  note?: string | string[];
  bars: ChartBar[];
  /** Dashed lines across the group at target values; their labels go under the group. */
  targets?: Array<{ value: number; label: string }>;
}

export interface BarChartSpec {
  /** The chart's accessible name (its <title>). */
  title: string;
  unit: string;
  /** Log when the values span orders of magnitude (0.5 ms warm calls next to 1 s cold boots). */
  scale: "log" | "linear";
  series: ChartSeries[];
  groups: ChartGroup[];
  width?: number;
  height?: number;
  /** Value labels over the bars; defaults to `formatValue`. */
  format?: (value: number) => string;
  /** Axis tick labels; defaults to `format` + unit. */
  tick?: (value: number) => string;
}

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** Short labels that keep three significant figures where they matter: 0.503, 18.2, 426, 1,414. */
export function formatValue(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString("en-US");
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3).replace(/0$/, "");
}

/** Milliseconds as an axis label: 0.1 ms … 100 ms, then seconds. */
export function formatMsTick(ms: number): string {
  if (ms >= 1000) return `${Number((ms / 1000).toPrecision(3))} s`;
  return `${Number(ms.toPrecision(3))} ms`;
}

/** Lighter tints of a colour (mixed with white), for p95 and p99 next to p50. */
export function tint(hex: string, amount: number): string {
  const n = Number.parseInt(hex.replace("#", ""), 16);
  const mix = (c: number) => Math.round(c + (255 - c) * amount);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map(mix);
  return `#${((r! << 16) | (g! << 8) | b!).toString(16).padStart(6, "0")}`;
}

interface Axis {
  /** Value → 0..1 of the plot height. */
  position(value: number): number;
  ticks: number[];
  /** Fainter lines between ticks (2× and 5× on a log axis). */
  minor: number[];
}

/**
 * Decades from below the smallest value to the largest value's up, plus
 * one more when the tallest bar would leave less than `headroom` (a fraction
 * of the plot height) for its label.
 */
export function logAxis(values: number[], headroom = 0.06): Axis {
  const positive = values.filter((v) => v > 0 && Number.isFinite(v));
  if (positive.length === 0) positive.push(1);
  const max = Math.max(...positive);
  const min = Math.log10(Math.min(...positive));
  // A decade lower when the smallest bar would be a sliver (1 ms on a 1 ms floor: no bar at all).
  const lo = Math.floor(min) - (min - Math.floor(min) < 0.3 ? 1 : 0);
  let hi = Math.ceil(Math.log10(max));
  if (hi === lo) hi += 1;
  while ((Math.log10(max) - lo) / (hi - lo) > 1 - headroom) hi += 1;
  const ticks: number[] = [];
  const minor: number[] = [];
  for (let e = lo; e <= hi; e++) {
    ticks.push(10 ** e);
    if (e < hi) minor.push(2 * 10 ** e, 5 * 10 ** e);
  }
  return {
    // Values at or below the floor sit on the axis (a log scale has no zero).
    position: (v) => (v <= 10 ** lo ? 0 : (Math.log10(v) - lo) / (hi - lo)),
    ticks: ticks.map(clean),
    minor: minor.map(clean),
  };
}

/** From zero in steps of 1, 2, 2.5 or 5 × 10ⁿ, leaving `headroom` above the tallest bar. */
export function linearAxis(values: number[], headroom = 0.1, targetCount = 5): Axis {
  const max = Math.max(0, ...values.filter(Number.isFinite));
  if (max === 0) return { position: () => 0, ticks: [0, 1], minor: [] };
  const rough = max / targetCount;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * power >= rough) ?? 10) * power;
  const top = Math.ceil(max / (1 - headroom) / step) * step;
  const ticks: number[] = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(clean(v));
  return { position: (v) => Math.max(0, v) / top, ticks, minor: [] };
}

/** Floating-point noise off tick values (0.30000000000000004 → 0.3). */
function clean(v: number) {
  return Number(v.toPrecision(12));
}

const n = (v: number) => Number(v.toFixed(1));

/** A white outline under text, so a label stays readable where it crosses a bar or a line. */
const HALO = 'paint-order="stroke" stroke="#fff" stroke-width="3" stroke-linejoin="round"';
const TARGET_COLOR = "#b91c1c";
/** Rough width of a character of the 10 px value labels (no font metrics without a browser). */
const LABEL_CHAR_PX = 6.2;

const notesOf = (group: ChartGroup) =>
  group.note === undefined ? [] : Array.isArray(group.note) ? group.note : [group.note];

export function barChart(spec: BarChartSpec): string {
  const width = spec.width ?? 960;
  const height = spec.height ?? 360;
  const format = spec.format ?? formatValue;
  const tick = spec.tick ?? ((v: number) => `${format(v)} ${spec.unit}`.trim());
  const bars = spec.groups.flatMap((g) => g.bars);
  const measured = bars.map((b) => b.value).filter((v): v is number => v !== null);
  const hasTargets = spec.groups.some((g) => (g.targets ?? []).length > 0);

  // Under each group: its label, its note lines, then its targets in words.
  const captionLines = Math.max(
    0,
    ...spec.groups.map((g) => notesOf(g).length + ((g.targets ?? []).length > 0 ? 1 : 0)),
  );
  const legendRows = legendLayout(
    [
      ...spec.series.map((s) => ({ label: s.label, color: s.color, dashed: false })),
      ...(hasTargets ? [{ label: "target", color: TARGET_COLOR, dashed: true }] : []),
    ],
    width - 90,
  );
  const margin = {
    top: 18 + legendRows.length * 20,
    right: 16,
    bottom: 30 + captionLines * 15,
    left: 74,
  };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;

  // Bars: one slot per series in every group, so a series sits at the same place in each.
  const clusters: string[] = [];
  for (const s of spec.series) {
    const c = s.cluster ?? s.key;
    if (!clusters.includes(c)) clusters.push(c);
  }
  const groupW = plotW / Math.max(1, spec.groups.length);
  const clusterGap = clusters.length > 1 ? 12 : 0;
  const slotsW = groupW * 0.82 - clusterGap * (clusters.length - 1);
  const barW = Math.min(34, slotsW / Math.max(1, spec.series.length));
  const gap = barW > 14 ? 2 : 1;
  const usedW = barW * spec.series.length + clusterGap * (clusters.length - 1);
  // Upright labels when every one fits over its bar, else all turned (never overlapping).
  const longest = Math.max(0, ...measured.map((v) => format(v).length)) * LABEL_CHAR_PX;
  const rotate = longest > barW + 2;
  const headroom = ((rotate ? longest : 10) + 8) / plotH;
  const targetValues = spec.groups.flatMap((g) => (g.targets ?? []).map((t) => t.value));
  const axis =
    spec.scale === "log"
      ? logAxis([...measured, ...targetValues], headroom)
      : linearAxis([...measured, ...targetValues], headroom);
  const y = (v: number) => margin.top + plotH * (1 - axis.position(v));
  const base = margin.top + plotH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(spec.title)}">`,
    `<title>${escapeXml(spec.title)}</title>`,
  );

  // Legend: swatches in rows across the top.
  legendRows.forEach((row, r) => {
    for (const item of row) {
      const lx = margin.left + item.x;
      const ly = 8 + r * 20;
      out.push(
        item.dashed
          ? `<line class="swatch" x1="${n(lx)}" x2="${n(lx + 14)}" y1="${ly + 6}" y2="${ly + 6}" stroke="${item.color}" stroke-width="1.5" stroke-dasharray="4 3"/>`
          : `<rect class="swatch" x="${n(lx)}" y="${ly}" width="12" height="12" rx="2" fill="${item.color}"/>`,
        `<text class="legend" x="${n(lx + 17)}" y="${ly + 10}" font-size="12">${escapeXml(item.label)}</text>`,
      );
    }
  });

  // Grid and axis labels.
  for (const v of axis.minor) {
    out.push(
      `<line class="grid minor" x1="${margin.left}" x2="${margin.left + plotW}" y1="${n(y(v))}" y2="${n(y(v))}" stroke="#eef0f3"/>`,
    );
  }
  for (const v of axis.ticks) {
    out.push(
      `<line class="grid" x1="${margin.left}" x2="${margin.left + plotW}" y1="${n(y(v))}" y2="${n(y(v))}" stroke="#d5d9e0"/>`,
      `<text class="tick" x="${margin.left - 8}" y="${n(y(v) + 4)}" text-anchor="end" font-size="11" fill="#4b5563">${escapeXml(tick(v))}</text>`,
    );
  }

  // Bars, then target lines over them, then the value labels over both.
  const barsOut: string[] = [];
  const targetsOut: string[] = [];
  const labelsOut: string[] = [];
  spec.groups.forEach((group, g) => {
    const gx = margin.left + groupW * g;
    const start = gx + (groupW - usedW) / 2;
    for (const target of group.targets ?? []) {
      const ty = n(y(target.value));
      targetsOut.push(
        `<line class="target" x1="${n(gx + 6)}" x2="${n(gx + groupW - 6)}" y1="${ty}" y2="${ty}" stroke="${TARGET_COLOR}" stroke-width="1.5" stroke-dasharray="5 4"><title>${escapeXml(target.label)}</title></line>`,
      );
    }
    spec.series.forEach((series, i) => {
      const cluster = clusters.indexOf(series.cluster ?? series.key);
      const x = start + barW * i + clusterGap * cluster;
      const bar = group.bars.find((b) => b.series === series.key);
      if (!bar) return;
      const cx = n(x + barW / 2);
      if (bar.value === null || !Number.isFinite(bar.value)) {
        labelsOut.push(
          `<text class="na" x="${cx}" y="${n(base - 4)}" text-anchor="middle" font-size="9" fill="#9ca3af">n/a</text>`,
        );
        return;
      }
      // At least a hairline, so a value at the axis floor is still seen.
      const h = Math.max(1, base - y(bar.value));
      const title = bar.title ?? `${series.label}: ${format(bar.value)} ${spec.unit}`.trim();
      barsOut.push(
        `<rect class="bar" data-series="${escapeXml(series.key)}" x="${n(x + gap / 2)}" y="${n(base - h)}" width="${n(barW - gap)}" height="${n(h)}" fill="${series.color}"><title>${escapeXml(title)}</title></rect>`,
      );
      const label = escapeXml(format(bar.value));
      const ly = n(base - h - 4);
      labelsOut.push(
        rotate
          ? `<text class="value" x="${cx}" y="${ly}" transform="rotate(-90 ${cx} ${ly})" dy="3.5" font-size="10" fill="#111827" ${HALO}>${label}</text>`
          : `<text class="value" x="${cx}" y="${ly}" text-anchor="middle" font-size="10" fill="#111827" ${HALO}>${label}</text>`,
      );
    });
    const mid = n(gx + groupW / 2);
    labelsOut.push(
      `<text class="group" x="${mid}" y="${base + 18}" text-anchor="middle" font-size="13" font-weight="600" fill="#111827">${escapeXml(group.label)}</text>`,
    );
    const captions = [
      ...notesOf(group).map((text) => ({ text, color: "#6b7280" })),
      ...((group.targets ?? []).length > 0
        ? [{ text: group.targets!.map((t) => t.label).join(", "), color: TARGET_COLOR }]
        : []),
    ];
    captions.forEach((caption, i) => {
      labelsOut.push(
        `<text class="note" x="${mid}" y="${base + 34 + i * 15}" text-anchor="middle" font-size="11" fill="${caption.color}">${escapeXml(caption.text)}</text>`,
      );
    });
  });
  out.push(...barsOut, ...targetsOut, ...labelsOut);
  out.push(
    `<line class="axis" x1="${margin.left}" x2="${margin.left + plotW}" y1="${base}" y2="${base}" stroke="#6b7280"/>`,
    "</svg>",
  );
  return out.join("\n");
}

interface LegendItem {
  label: string;
  color: string;
  dashed: boolean;
}

/** Legend items placed left to right, wrapped into rows that fit `maxWidth`. */
function legendLayout(items: LegendItem[], maxWidth: number) {
  const rows: Array<Array<LegendItem & { x: number }>> = [];
  let row: Array<LegendItem & { x: number }> = [];
  let x = 0;
  for (const item of items) {
    // About 7 px per character at 12 px, plus the swatch and a gap.
    const w = 17 + item.label.length * 7 + 18;
    if (x + w > maxWidth && row.length > 0) {
      rows.push(row);
      row = [];
      x = 0;
    }
    row.push({ ...item, x });
    x += w;
  }
  if (row.length > 0) rows.push(row);
  return rows;
}
