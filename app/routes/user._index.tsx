import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { requireUser } from "~/lib/guards.server";

export const meta: MetaFunction = () => [{ title: "Dashboard · Cloudless" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { user } = await requireUser(request, context);
  return { name: user.name };
}

export default function Dashboard() {
  const { name } = useLoaderData<typeof loader>();
  return (
    <>
      <div className="page-header">
        <div>
          <h1>Welcome, {name}</h1>
          <p className="muted">Your functions, calls and engines will show here.</p>
        </div>
      </div>
      <div className="card empty">
        <h2>No functions yet</h2>
        <p>
          Functions arrive with the next release of Cloudless. Meanwhile, review where you are
          signed in under <Link to="/user/settings">Settings</Link>.
        </p>
      </div>
    </>
  );
}
