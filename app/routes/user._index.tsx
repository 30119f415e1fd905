import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { requireUser } from "~/lib/guards.server";

export const meta: MetaFunction = () => [{ title: "Dashboard · Cloudless" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { caller, user } = await requireUser(request, context);
  const functions = await caller.functions.list();
  return {
    name: user.name,
    count: functions.length,
    calls: functions.reduce((total, fn) => total + fn.calls, 0),
  };
}

export default function Dashboard() {
  const { name, count, calls } = useLoaderData<typeof loader>();
  return (
    <>
      <div className="page-header">
        <div>
          <h1>Welcome, {name}</h1>
          <p className="muted">Your functions at a glance.</p>
        </div>
      </div>
      {count === 0 ? (
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
        <div className="grid">
          <Link className="card stat" to="/user/functions">
            <span className="stat-value">{count.toLocaleString("en")}</span>
            <span className="stat-label">{count === 1 ? "function" : "functions"}</span>
            <span className="stat-link">View all functions</span>
          </Link>
          <div className="card stat">
            <span className="stat-value">{calls.toLocaleString("en")}</span>
            <span className="stat-label">{calls === 1 ? "call" : "calls"} so far</span>
          </div>
          <Link className="card stat" to="/user/new">
            <span className="stat-value" aria-hidden="true">
              +
            </span>
            <span className="stat-label">New function</span>
            <span className="stat-link">Write or upload one</span>
          </Link>
        </div>
      )}
    </>
  );
}
