import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { DateTime } from "~/components/date-time";
import { FormMessage } from "~/components/form";
import { RouteError } from "~/components/route-error";
import { siteOrigin } from "~/lib/functions.server";
import { requireUser } from "~/lib/guards.server";
import { runtimeName } from "~/lib/starters";

export const meta: MetaFunction = () => [{ title: "Functions · Cloudless" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { caller } = await requireUser(request, context);
  const deleted = new URL(request.url).searchParams.get("deleted");
  return {
    functions: await caller.functions.list(),
    origin: siteOrigin(request, context),
    deleted: deleted?.slice(0, 63) ?? null,
  };
}

export default function Functions() {
  const { functions, origin, deleted } = useLoaderData<typeof loader>();
  return (
    <>
      <div className="page-header">
        <div>
          <h1>Functions</h1>
          <p className="muted">
            {functions.length === 0
              ? "Nothing deployed yet."
              : `${functions.length} function${functions.length === 1 ? "" : "s"}`}
          </p>
        </div>
        {functions.length > 0 ? (
          <Link className="button primary" to="/user/new">
            New function
          </Link>
        ) : null}
      </div>
      <FormMessage notice={deleted ? `Deleted ${deleted}.` : undefined} />
      {functions.length === 0 ? (
        <div className="card empty">
          <h2>Create your first function</h2>
          <p>
            Write a Python or JavaScript function in the browser, or upload a file. Each gets its
            own URL, and runs in a warm container when it is called.
          </p>
          <p>
            <Link className="button primary" to="/user/new">
              New function
            </Link>
          </p>
          <p>
            Or deploy from a terminal with an API key from{" "}
            <Link to="/user/settings#api-keys">Settings</Link>:
          </p>
          <pre className="code-sample command">
            <code>{`npm run cli -- --url ${origin} --key <API key> \\
  deploy examples/calc.py --name calc --runtime python \\
  --handler calc.calculator --style script`}</code>
          </pre>
        </div>
      ) : (
        <div className="table-wrap stack-narrow">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Runtime</th>
                <th scope="col">Handler</th>
                <th scope="col">Style</th>
                <th scope="col">Version</th>
                <th scope="col">Last call</th>
                <th scope="col" className="numeric">
                  Calls
                </th>
              </tr>
            </thead>
            <tbody>
              {functions.map((fn) => (
                <tr key={fn.id}>
                  <td data-label="Name">
                    <Link className="fn-name" to={`/user/functions/${fn.id}`}>
                      {fn.name}
                    </Link>
                    {fn.isPublic ? <span className="badge">Public</span> : null}
                  </td>
                  <td data-label="Runtime">{runtimeName(fn.runtime, fn.runtimeVersion)}</td>
                  <td data-label="Handler">
                    <code>{fn.handler}</code>
                  </td>
                  <td data-label="Style">{fn.style}</td>
                  <td data-label="Version">
                    {fn.activeVersion ? `v${fn.activeVersion.number}` : "—"}
                  </td>
                  <td data-label="Last call">
                    {fn.lastInvokedAt ? <DateTime value={fn.lastInvokedAt} /> : "Never"}
                  </td>
                  <td data-label="Calls" className="numeric">
                    {fn.calls.toLocaleString("en")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

export function ErrorBoundary() {
  return <RouteError title="Functions" what="your functions" />;
}
