import type { ReactNode } from "react";
import { useSyncExternalStore } from "react";
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import {
  ENGINE_NAMES,
  type EngineName,
  formatAxisMs,
  formatMs,
  formatTick,
  logAxis,
  type PercentileRow,
  type SeriesPoint,
  START_KINDS,
  START_NAMES,
  type StartKind,
  seriesLabel,
  sortPercentiles,
  timeTicks,
} from "~/lib/latency";
import { formatDateTime } from "./date-time";

/**
 * The latency charts (recharts). Recharts measures its container, so it
 * draws only in the browser: the server renders a placeholder of the same
 * height, and the page does not jump when the chart appears. Colours are CSS
 * variables (app.css), so both colour schemes get their own palette. Every
 * chart sits next to a table with the same numbers, its text equivalent.
 */

/** Recharts' keyboard layer: focus a chart, then the arrow keys step through its points. */
const KEYS_HINT =
  "Left and right arrow keys step through the points. The same numbers are in the table on this page.";

const noop = () => () => {};
/** True once React runs in the browser (false in the server render and during hydration). */
export function useHydrated(): boolean {
  return useSyncExternalStore(
    noop,
    () => true,
    () => false,
  );
}

const START_COLOURS: Record<StartKind, string> = {
  cold: "var(--chart-cold)",
  prewarm: "var(--chart-prewarm)",
  warm: "var(--chart-warm)",
};
const ENGINE_COLOURS: Record<EngineName, string> = {
  docker: "var(--chart-docker)",
  nanos: "var(--chart-nanos)",
};
const PERCENTILE_COLOURS = {
  p50: "var(--chart-p50)",
  p95: "var(--chart-p95)",
  p99: "var(--chart-p99)",
};

const AXIS = {
  stroke: "var(--border-strong)",
  tick: { fill: "var(--muted)", fontSize: 12 },
  tickLine: { stroke: "var(--border-strong)" },
};
/** The log-scale milliseconds axis every latency chart uses (warm ~1 ms and cold ~1 s side by side). */
function logMsAxis(axis: { domain: [number, number]; ticks: number[] }) {
  return {
    scale: "log" as const,
    domain: axis.domain,
    ticks: axis.ticks,
    allowDataOverflow: true,
    tickFormatter: formatAxisMs,
    width: 68,
    ...AXIS,
  };
}

const TOOLTIP = {
  contentStyle: {
    background: "var(--surface)",
    border: "1px solid var(--border-strong)",
    borderRadius: 8,
    color: "var(--text)",
    boxShadow: "var(--shadow)",
    fontSize: 13,
  },
  labelStyle: { color: "var(--text)", fontWeight: 600, marginBottom: 4 },
  itemStyle: { padding: "1px 0" },
  cursor: { stroke: "var(--border-strong)", fill: "var(--surface-sunken)" },
};
const LEGEND = {
  wrapperStyle: { fontSize: 13, paddingTop: 8 },
  // Recharts colours legend text like its series; text stays in the text colour, for contrast.
  formatter: (value: unknown) => <span className="legend-text">{String(value)}</span>,
};

/** A chart with its caption; a same-sized placeholder until the browser can draw it. */
export function ChartFrame({
  title,
  caption,
  height,
  children,
}: {
  title: string;
  caption?: ReactNode;
  height: number;
  children: () => ReactNode;
}) {
  const hydrated = useHydrated();
  return (
    <figure className="chart">
      <figcaption>
        <span className="chart-title">{title}</span>
        {caption ? <span className="chart-caption">{caption}</span> : null}
      </figcaption>
      {hydrated ? (
        <div className="chart-body" style={{ minHeight: height }}>
          {children()}
        </div>
      ) : (
        <div className="chart-placeholder" style={{ height }}>
          <span>Loading chart…</span>
        </div>
      )}
    </figure>
  );
}

function msFormatter(value: unknown) {
  return typeof value === "number" ? formatMs(value) : String(value ?? "");
}

/** p50 (and p95, fainter) over time: colour by start kind, dashes for Nanos. */
export function LatencyOverTimeChart({
  points,
  series,
  from,
  to,
  showP95,
  height = 300,
}: {
  points: SeriesPoint[];
  series: Array<{ engine: EngineName; start: StartKind; key: string }>;
  from: number;
  to: number;
  showP95: boolean;
  height?: number;
}) {
  const rangeMs = to - from;
  const values = points.flatMap((p) =>
    series.flatMap((s) => [p[`${s.key}-p50`], showP95 ? p[`${s.key}-p95`] : undefined]),
  );
  const axis = logAxis(values.filter((v): v is number => typeof v === "number"));
  // Few points: show them, or a lone call would be an invisible line of length zero.
  const dot = points.length <= 40 ? { r: 3 } : false;
  return (
    <LineChart
      responsive
      title="Latency over time"
      desc={KEYS_HINT}
      data={points}
      style={{ width: "100%", height }}
      margin={{ top: 8, right: 16, bottom: 0, left: 0 }}
    >
      <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
      <XAxis
        dataKey="t"
        type="number"
        scale="time"
        domain={[from, to]}
        ticks={timeTicks(from, to)}
        tickFormatter={(t: number) => formatTick(t, rangeMs)}
        minTickGap={24}
        {...AXIS}
      />
      <YAxis {...logMsAxis(axis)} />
      <Tooltip
        {...TOOLTIP}
        labelFormatter={(t) => (typeof t === "number" ? formatDateTime(new Date(t)) : String(t))}
        formatter={msFormatter}
      />
      <Legend {...LEGEND} />
      {series.map((s) => (
        <Line
          key={`${s.key}-p50`}
          type="monotone"
          dataKey={`${s.key}-p50`}
          name={`${seriesLabel(s.engine, s.start)} p50`}
          stroke={START_COLOURS[s.start]}
          strokeWidth={2}
          strokeDasharray={s.engine === "nanos" ? "7 4" : undefined}
          dot={dot ? { ...dot, fill: START_COLOURS[s.start] } : false}
          connectNulls
          isAnimationActive={false}
        />
      ))}
      {showP95
        ? series.map((s) => (
            <Line
              key={`${s.key}-p95`}
              type="monotone"
              dataKey={`${s.key}-p95`}
              name={`${seriesLabel(s.engine, s.start)} p95`}
              stroke={START_COLOURS[s.start]}
              strokeOpacity={0.6}
              strokeWidth={1.5}
              strokeDasharray="2 3"
              dot={false}
              connectNulls
              isAnimationActive={false}
            />
          ))
        : null}
    </LineChart>
  );
}

/** p50, p95 and p99 side by side for each engine × start kind. */
export function PercentileBarChart({
  rows,
  height = 300,
}: {
  rows: PercentileRow[];
  height?: number;
}) {
  const data = sortPercentiles(rows).map((r) => ({
    name: seriesLabel(r.engine, r.start),
    p50: r.p50,
    p95: r.p95,
    p99: r.p99,
  }));
  const axis = logAxis(data.flatMap((d) => [d.p50, d.p95, d.p99]));
  return (
    <BarChart
      responsive
      title="Latency percentiles per engine and start kind"
      desc={KEYS_HINT}
      data={data}
      style={{ width: "100%", height }}
      margin={{ top: 8, right: 16, bottom: 0, left: 0 }}
    >
      <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" vertical={false} />
      <XAxis dataKey="name" interval={0} {...AXIS} />
      <YAxis {...logMsAxis(axis)} />
      <Tooltip {...TOOLTIP} formatter={msFormatter} />
      <Legend {...LEGEND} />
      {(["p50", "p95", "p99"] as const).map((p) => (
        <Bar
          key={p}
          dataKey={p}
          name={p}
          fill={PERCENTILE_COLOURS[p]}
          radius={[3, 3, 0, 0]}
          maxBarSize={48}
          isAnimationActive={false}
        />
      ))}
    </BarChart>
  );
}

/** p50 per start kind, a bar per engine: cold against warm along the axis, Docker against Nanos in each group. */
export function ComparisonChart({
  rows,
  height = 280,
}: {
  rows: PercentileRow[];
  height?: number;
}) {
  const engines = (["docker", "nanos"] as const).filter((e) =>
    rows.some((r) => r.engine === e && r.calls > 0),
  );
  const data = START_KINDS.map((start) => {
    const point: Record<string, number | string> = { name: START_NAMES[start] };
    for (const engine of engines) {
      const row = rows.find((r) => r.engine === engine && r.start === start && r.calls > 0);
      if (row) point[engine] = row.p50;
    }
    return point;
  }).filter((p) => Object.keys(p).length > 1);
  const axis = logAxis(
    data.flatMap((d) => engines.map((e) => d[e])).filter((v): v is number => typeof v === "number"),
  );
  return (
    <BarChart
      responsive
      title="Median latency by start kind, Docker and Nanos"
      desc={KEYS_HINT}
      data={data}
      style={{ width: "100%", height }}
      margin={{ top: 8, right: 16, bottom: 0, left: 0 }}
    >
      <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" vertical={false} />
      <XAxis dataKey="name" {...AXIS} />
      <YAxis {...logMsAxis(axis)} />
      <Tooltip {...TOOLTIP} formatter={msFormatter} />
      <Legend {...LEGEND} />
      {engines.map((engine) => (
        <Bar
          key={engine}
          dataKey={engine}
          name={`${ENGINE_NAMES[engine]} p50`}
          fill={ENGINE_COLOURS[engine]}
          radius={[3, 3, 0, 0]}
          maxBarSize={64}
          isAnimationActive={false}
        />
      ))}
    </BarChart>
  );
}
