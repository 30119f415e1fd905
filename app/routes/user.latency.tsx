import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData, useNavigation, useSearchParams } from "@remix-run/react";
import {
  ChartFrame,
  ComparisonChart,
  LatencyOverTimeChart,
  PercentileBarChart,
} from "~/components/charts";
import { formatDateTime } from "~/components/date-time";
import { StartBadge } from "~/components/invocations";
import { PercentileTable } from "~/components/latency-table";
import { RouteError } from "~/components/route-error";
import { requireUser } from "~/lib/guards.server";
import {
  comparisons,
  describeComparison,
  ENGINE_NAMES,
  formatMs,
  formatRatio,
  type PercentileRow,
  parseRange,
  pivotSeries,
  RANGES,
  type RangeKey,
  sortPercentiles,
} from "~/lib/latency";
import { HISTOGRAM_RELATIVE_ERROR } from "../../server/invocations/histogram";

export const meta: MetaFunction = () => [{ title: "Latency · Cloudless" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { caller } = await requireUser(request, context);
  const params = new URL(request.url).searchParams;
  const range = parseRange(params.get("range"));
  const functions = await caller.functions.list();
  const requested = params.get("fn") || null;
  const fn = requested ? functions.find((f) => f.id === requested) : undefined;
  if (requested && !fn) {
    throw new Response("There is no such function in your account.", { status: 404 });
  }
  const to = new Date();
  const from = new Date(to.getTime() - RANGES[range].ms);
  const input = { from, to, functionId: fn?.id };
  const [percentiles, series] = await Promise.all([
    caller.invocations.percentiles(input),
    caller.invocations.series({ ...input, buckets: RANGES[range].buckets }),
  ]);
  return {
    range,
    from: from.getTime(),
    to: to.getTime(),
    fn: fn ? { id: fn.id, name: fn.name } : null,
    functions: functions.map((f) => ({ id: f.id, name: f.name })),
    showP95: params.get("p95") === "1",
    percentiles,
    series,
  };
}

type LoaderData = ReturnType<typeof useLoaderData<typeof loader>>;

export default function Latency() {
  const data = useLoaderData<typeof loader>();
  const navigation = useNavigation();
  // Stale while the next range or function loads: dimmed, and said so.
  const loading =
    navigation.state === "loading" && navigation.location.pathname === "/user/latency";
  const calls = data.percentiles.reduce((sum, r) => sum + r.calls, 0);
  return (
    <>
      <div className="page-header">
        <div>
          <h1>Latency</h1>
          <p className="muted">
            {data.fn ? (
              <>
                <Link to={`/user/functions/${data.fn.id}`}>{data.fn.name}</Link>, over the last{" "}
                {RANGES[data.range].label}
              </>
            ) : (
              `All functions, over the last ${RANGES[data.range].label}`
            )}
            {": "}
            {calls.toLocaleString("en")} {calls === 1 ? "call" : "calls"}.
          </p>
        </div>
      </div>
      <Filters data={data} />
      <p className="note">
        Percentiles are read from per-minute latency histograms, so each is within about{" "}
        {Math.round(HISTOGRAM_RELATIVE_ERROR * 100)}% of the exact value; counts and means are
        exact. Latency is the whole call as the server saw it (queue, start and run). Times are UTC,
        and latency axes are logarithmic.
      </p>
      <div className={loading ? "results stale" : "results"} aria-busy={loading || undefined}>
        {loading ? (
          <p className="visually-hidden" role="status">
            Loading…
          </p>
        ) : null}
        {calls === 0 ? <NoCalls data={data} /> : <Charts data={data} />}
      </div>
    </>
  );
}

/** Range links (shareable, no script needed) and a function filter. */
function Filters({ data }: { data: LoaderData }) {
  const [params] = useSearchParams();
  const hrefFor = (range: RangeKey) => {
    const next = new URLSearchParams(params);
    next.set("range", range);
    return `?${next}`;
  };
  return (
    <div className="filters card">
      <nav className="range-picker" aria-label="Time range">
        {(Object.keys(RANGES) as RangeKey[]).map((key) => (
          <Link
            key={key}
            to={hrefFor(key)}
            aria-current={key === data.range ? "page" : undefined}
            preventScrollReset
          >
            <span aria-hidden="true">{RANGES[key].short}</span>
            <span className="visually-hidden">Last {RANGES[key].label}</span>
          </Link>
        ))}
      </nav>
      <Form method="get" className="filter-form" preventScrollReset>
        <input type="hidden" name="range" value={data.range} />
        <div className="field">
          <label htmlFor="filter-fn">Function</label>
          <select id="filter-fn" name="fn" defaultValue={data.fn?.id ?? ""} key={data.fn?.id}>
            <option value="">All functions</option>
            {data.functions.map((f) => (
              <option key={f.id} value={f.id}>
                {f.name}
              </option>
            ))}
          </select>
        </div>
        <div className="check filter-check">
          <input
            type="checkbox"
            id="filter-p95"
            name="p95"
            value="1"
            defaultChecked={data.showP95}
            key={String(data.showP95)}
          />
          <label htmlFor="filter-p95">Show p95 over time</label>
        </div>
        <button type="submit" className="button">
          Apply
        </button>
      </Form>
    </div>
  );
}

function NoCalls({ data }: { data: LoaderData }) {
  return (
    <div className="card empty">
      <h2>No calls in this range</h2>
      <p>
        {data.functions.length === 0
          ? "Create a function and call it: its latency shows up here within a second."
          : "Call a function, from the console on its page or through its URL, or pick a longer range."}
      </p>
      <p>
        {data.functions.length === 0 ? (
          <Link className="button primary" to="/user/new">
            New function
          </Link>
        ) : (
          <Link
            className="button primary"
            to={`/user/functions/${data.fn?.id ?? data.functions[0]!.id}#console`}
          >
            Run {data.fn?.name ?? data.functions[0]!.name}
          </Link>
        )}
      </p>
    </div>
  );
}

function Charts({ data }: { data: LoaderData }) {
  const { points, series } = pivotSeries(data.series.rows);
  const rows = sortPercentiles(data.percentiles);
  const compared = comparisons(rows);
  const bucketMinutes = data.series.bucketSeconds / 60;
  return (
    <>
      <section className="section first" aria-labelledby="over-time-title">
        <div className="card">
          <h2 id="over-time-title">Over time</h2>
          <ChartFrame
            title={`p50${data.showP95 ? " and p95 (dotted)" : ""} per start kind and engine`}
            caption={`One point per ${bucketMinutes >= 60 ? `${bucketMinutes / 60} h` : `${bucketMinutes} min`}; Nanos lines are dashed. The data is in the table below the chart.`}
            height={300}
          >
            {() => (
              <LatencyOverTimeChart
                points={points}
                series={series}
                from={data.from}
                to={data.to}
                showP95={data.showP95}
              />
            )}
          </ChartFrame>
          <details className="data-table">
            <summary>The chart's data as a table</summary>
            <div className="table-wrap">
              <table className="compact">
                <thead>
                  <tr>
                    <th scope="col">From (UTC)</th>
                    <th scope="col">Engine</th>
                    <th scope="col">Start</th>
                    <th scope="col" className="numeric">
                      Calls
                    </th>
                    <th scope="col" className="numeric">
                      p50
                    </th>
                    <th scope="col" className="numeric">
                      p95
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.series.rows.map((r) => (
                    <tr key={`${new Date(r.bucket).getTime()}-${r.engine}-${r.start}`}>
                      <td>{formatDateTime(r.bucket)}</td>
                      <td>{ENGINE_NAMES[r.engine]}</td>
                      <td>
                        <StartBadge start={r.start} />
                      </td>
                      <td className="numeric">{r.calls.toLocaleString("en")}</td>
                      <td className="numeric">{formatMs(r.p50)}</td>
                      <td className="numeric">{formatMs(r.p95)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        </div>
      </section>

      <section className="section" aria-labelledby="percentiles-title">
        <div className="card">
          <h2 id="percentiles-title">Percentiles</h2>
          <PercentileTable rows={rows} />
          <ChartFrame title="p50, p95 and p99 per engine and start kind" height={300}>
            {() => <PercentileBarChart rows={rows} />}
          </ChartFrame>
        </div>
      </section>

      <section className="section" aria-labelledby="compare-title">
        <div className="card">
          <h2 id="compare-title">Cold against warm, Docker against Nanos</h2>
          <Comparisons
            items={[...compared.startKinds, ...compared.engines]}
            missing={missingSides(rows)}
          />
          <ChartFrame title="p50 by start kind, a bar per engine" height={280}>
            {() => <ComparisonChart rows={rows} />}
          </ChartFrame>
        </div>
      </section>
    </>
  );
}

function Comparisons({
  items,
  missing,
}: {
  items: ReturnType<typeof comparisons>["startKinds"];
  missing: string[];
}) {
  return (
    <>
      {items.length > 0 ? (
        <ul className="ratios">
          {items.map((c) => (
            <li key={c.label}>
              <span className="ratio-value">
                {formatRatio(c.ratio >= 1 ? c.ratio : 1 / c.ratio)}
              </span>
              <span className="ratio-text">
                <strong>{c.label}</strong>
                <span className="muted">{describeComparison(c)}.</span>
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      {missing.length > 0 ? (
        <p className="muted">
          {missing.join(" ")} Comparisons need calls on both sides in this range.
        </p>
      ) : null}
    </>
  );
}

/** What keeps a comparison from being made, in words. */
function missingSides(rows: PercentileRow[]): string[] {
  const has = (engine: string, start?: string) =>
    rows.some((r) => r.engine === engine && (!start || r.start === start) && r.calls > 0);
  const notes: string[] = [];
  for (const engine of ["docker", "nanos"] as const) {
    if (!has(engine)) {
      notes.push(`No ${ENGINE_NAMES[engine]} calls.`);
      continue;
    }
    if (!has(engine, "warm")) notes.push(`No warm ${ENGINE_NAMES[engine]} calls.`);
    else if (!has(engine, "cold") && !has(engine, "prewarm"))
      notes.push(`No cold or prewarm ${ENGINE_NAMES[engine]} calls.`);
  }
  return notes;
}

export function ErrorBoundary() {
  return (
    <RouteError
      title="Latency"
      what="the latency figures"
      back={{ to: "/user/latency", label: "All functions" }}
    />
  );
}
