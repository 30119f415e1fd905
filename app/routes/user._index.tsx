import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { DateTime } from "~/components/date-time";
import { OutcomeBadge, StartBadge } from "~/components/invocations";
import { RouteError } from "~/components/route-error";
import { requireUser } from "~/lib/guards.server";
import { ENGINE_NAMES, formatMs, formatPercent } from "~/lib/latency";
import { RUNTIME_NAMES } from "~/lib/starters";

export const meta: MetaFunction = () => [{ title: "Dashboard · Cloudless" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { caller, user } = await requireUser(request, context);
  const [summary, recent, functions, cluster] = await Promise.all([
    caller.invocations.summary(),
    caller.invocations.list({ limit: 10 }),
    caller.functions.list(),
    caller.nodes.list(),
  ]);
  return {
    name: user.name,
    summary,
    cluster,
    recent: recent.items,
    // The newest function: where a user with no calls yet is sent to try one.
    firstFunction: functions[0] ? { id: functions[0].id, name: functions[0].name } : null,
  };
}

type LoaderData = ReturnType<typeof useLoaderData<typeof loader>>;

export default function Dashboard() {
  const { name, summary, cluster, recent, firstFunction } = useLoaderData<typeof loader>();
  return (
    <>
      <div className="page-header">
        <div>
          <h1>Welcome, {name}</h1>
          <p className="muted">Your functions at a glance.</p>
        </div>
        {summary.functions > 0 ? (
          <Link className="button primary" to="/user/new">
            New function
          </Link>
        ) : null}
      </div>
      {summary.functions === 0 ? (
        <div className="card empty">
          <h2>No functions yet</h2>
          <p>
            Write a Python or JavaScript function in the browser, or upload a file, and call it over
            HTTP.
          </p>
          <Link className="button primary" to="/user/new">
            Create your first function
          </Link>
        </div>
      ) : (
        <Stats summary={summary} />
      )}
      <Engines engines={summary.engines} />
      <Nodes cluster={cluster} />
      {summary.functions > 0 ? <RecentCalls recent={recent} firstFunction={firstFunction} /> : null}
    </>
  );
}

function Stats({ summary }: Pick<LoaderData, "summary">) {
  const { functions, calls24h, errors24h, errorRate24h } = summary;
  return (
    <div className="grid stats">
      <Link className="card stat" to="/user/functions">
        <span className="stat-value">{functions.toLocaleString("en")}</span>
        <span className="stat-label">{functions === 1 ? "function" : "functions"}</span>
        <span className="stat-link">View all functions</span>
      </Link>
      <Link className="card stat" to="/user/latency">
        <span className="stat-value">{calls24h.toLocaleString("en")}</span>
        <span className="stat-label">{calls24h === 1 ? "call" : "calls"} in the last 24 hours</span>
        <span className="stat-link">See latency</span>
      </Link>
      <div className={errors24h > 0 ? "card stat stat-bad" : "card stat"}>
        <span className="stat-value">{calls24h === 0 ? "—" : formatPercent(errorRate24h)}</span>
        <span className="stat-label">
          error rate, last 24 hours
          {errors24h > 0 ? ` (${errors24h.toLocaleString("en")} failed)` : ""}
        </span>
      </div>
      <div className={summary.async.dead > 0 ? "card stat stat-bad" : "card stat"}>
        <span className="stat-value queue-counts">
          <span data-count="queued">{summary.async.queued.toLocaleString("en")}</span>
          <span>·</span>
          <span data-count="running">{summary.async.running.toLocaleString("en")}</span>
          <span>·</span>
          <span data-count="dead">{summary.async.dead.toLocaleString("en")}</span>
        </span>
        <span className="stat-label">async calls queued · running · dead</span>
      </div>
    </div>
  );
}

function Engines({ engines }: { engines: LoaderData["summary"]["engines"] }) {
  return (
    <section className="section" aria-labelledby="engines-title">
      <div className="page-header section-header">
        <div>
          <h2 id="engines-title">Engines</h2>
          <p className="muted">
            Instances per runtime: generic ones wait for any function, idle ones hold one function's
            code, busy ones are running a call.
          </p>
        </div>
      </div>
      <div className="grid engines">
        {engines.map((e) => (
          <div key={e.engine} className="card engine">
            <div className="engine-head">
              <h3>{ENGINE_NAMES[e.engine]}</h3>
              <span className={e.status.available ? "badge ok" : "badge muted"}>
                {e.status.available ? "Available" : "Unavailable"}
              </span>
            </div>
            {e.status.available ? (
              e.status.detail ? (
                <p className="muted engine-note">{e.status.detail}</p>
              ) : null
            ) : (
              <p className="engine-note engine-reason">{e.status.reason}</p>
            )}
            {e.runtimes.length > 0 ? (
              <table className="compact">
                <caption className="visually-hidden">
                  {ENGINE_NAMES[e.engine]} instances per runtime
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Runtime</th>
                    <th scope="col" className="numeric">
                      Generic
                    </th>
                    <th scope="col" className="numeric">
                      Idle
                    </th>
                    <th scope="col" className="numeric">
                      Busy
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {e.runtimes.map((r) => (
                    <tr key={r.runtime}>
                      <th scope="row">{RUNTIME_NAMES[r.runtime]}</th>
                      <td className="numeric">{r.generic}</td>
                      <td className="numeric">{r.idle}</td>
                      <td className="numeric">{r.busy}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : null}
          </div>
        ))}
      </div>
    </section>
  );
}

const NODE_STATE_BADGE = {
  up: "badge ok",
  draining: "badge start-prewarm",
  down: "badge error",
  stopped: "badge muted",
} as const;

/** Every server process on this database (one on a single machine), from the node registry. */
function Nodes({ cluster }: Pick<LoaderData, "cluster">) {
  return (
    <section className="section" aria-labelledby="nodes-title">
      <div className="page-header section-header">
        <div>
          <h2 id="nodes-title">Nodes</h2>
          <p className="muted">
            Servers sharing this database. Each writes a heartbeat every {cluster.heartbeatSeconds}{" "}
            s; one silent for {cluster.downAfterSeconds} s is down.
          </p>
        </div>
      </div>
      <div className="table-wrap nodes">
        <table className="compact">
          <caption className="visually-hidden">Nodes</caption>
          <thead>
            <tr>
              <th scope="col">Node</th>
              <th scope="col">State</th>
              <th scope="col">Engines</th>
              <th scope="col" className="numeric">
                Instances
              </th>
              <th scope="col" className="numeric">
                Memory (MB)
              </th>
              <th scope="col">Last heartbeat</th>
            </tr>
          </thead>
          <tbody>
            {cluster.nodes.map((n) => (
              <tr key={n.id} data-node={n.id}>
                <th scope="row">
                  {n.id}
                  {n.id === cluster.self ? <span className="muted"> (this one)</span> : null}
                  <div className="muted">{n.address}</div>
                </th>
                <td>
                  <span className={NODE_STATE_BADGE[n.state]}>{n.state}</span>
                </td>
                <td>
                  {n.engines.map((e) => (
                    <span
                      key={e.name}
                      className={e.available ? "badge ok" : "badge muted"}
                      title={e.reason}
                    >
                      {ENGINE_NAMES[e.name as keyof typeof ENGINE_NAMES] ?? e.name}
                    </span>
                  ))}
                </td>
                <td className="numeric">{n.instances}</td>
                <td className="numeric">
                  {n.memoryMb.toLocaleString("en")} / {n.memoryMaxMb.toLocaleString("en")}
                </td>
                <td>
                  <DateTime value={n.heartbeatAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function RecentCalls({ recent, firstFunction }: Pick<LoaderData, "recent" | "firstFunction">) {
  return (
    <section className="section" aria-labelledby="recent-title">
      <div className="page-header section-header">
        <div>
          <h2 id="recent-title">Recent calls</h2>
          <p className="muted">
            The ten newest, from every function. Records arrive within a second.
          </p>
        </div>
        {recent.length > 0 ? (
          <Link className="button small" to="/user/latency">
            Latency charts
          </Link>
        ) : null}
      </div>
      {recent.length === 0 ? (
        <div className="card empty">
          <h3>No calls yet</h3>
          <p>
            Run a function from its page: the console there calls it through its URL and shows the
            result, its output and where the time went.
          </p>
          {firstFunction ? (
            <Link className="button primary" to={`/user/functions/${firstFunction.id}#console`}>
              Run {firstFunction.name}
            </Link>
          ) : null}
        </div>
      ) : (
        <div className="table-wrap stack-narrow">
          <table>
            <thead>
              <tr>
                <th scope="col">Function</th>
                <th scope="col">Start</th>
                <th scope="col">Outcome</th>
                <th scope="col">Engine</th>
                <th scope="col" className="numeric">
                  Latency
                </th>
                <th scope="col">When</th>
              </tr>
            </thead>
            <tbody>
              {recent.map((call) => (
                <tr key={call.id}>
                  <td data-label="Function">
                    <Link className="fn-name" to={`/user/functions/${call.functionId}#calls`}>
                      {call.function.name}
                    </Link>
                    <span className="muted small-text">v{call.versionNumber}</span>
                  </td>
                  <td data-label="Start">
                    <StartBadge start={call.start} />
                  </td>
                  <td data-label="Outcome">
                    <OutcomeBadge call={call} />
                    {call.async ? <span className="badge async">async</span> : null}
                  </td>
                  <td data-label="Engine">{ENGINE_NAMES[call.engine]}</td>
                  <td data-label="Latency" className="numeric">
                    {formatMs(call.totalMs)}
                  </td>
                  <td data-label="When">
                    <DateTime value={call.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function ErrorBoundary() {
  return <RouteError title="Dashboard" what="your dashboard" />;
}
