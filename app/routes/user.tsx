import type { LoaderFunctionArgs } from "@remix-run/node";
import { Form, NavLink, Outlet, useLoaderData, useNavigation } from "@remix-run/react";
import { Brand } from "~/components/brand";
import { requireUser } from "~/lib/guards.server";

/** The signed-in shell: navigation on the side (on top at phone width) and the page. */
export async function loader({ request, context }: LoaderFunctionArgs) {
  const { user } = await requireUser(request, context);
  return { user: { name: user.name, email: user.email } };
}

const NAV = [
  { to: "/user", label: "Dashboard", end: true },
  { to: "/user/functions", label: "Functions", end: false },
  { to: "/user/latency", label: "Latency", end: false },
  { to: "/user/new", label: "New function", end: false },
  { to: "/user/settings", label: "Settings", end: false },
];

export default function UserShell() {
  const { user } = useLoaderData<typeof loader>();
  const navigation = useNavigation();
  // A page on its way: a bar along the top (after a beat, so quick loads do not flicker).
  const loading = navigation.state === "loading";
  return (
    <div className="shell">
      <div className={loading ? "progress active" : "progress"} aria-hidden="true" />
      <aside className="sidebar">
        <Brand />
        <nav className="nav" aria-label="Main">
          {NAV.map((item) => (
            <NavLink key={item.to} to={item.to} end={item.end}>
              {item.label}
            </NavLink>
          ))}
        </nav>
        <div className="sidebar-footer">
          {/* Long names and addresses are cut to fit; the tooltip has them whole. */}
          <div className="who" title={`${user.name} · ${user.email}`}>
            <strong>{user.name}</strong>
            <span className="email hide-narrow">{user.email}</span>
          </div>
          <Form method="post" action="/logout">
            <button type="submit" className="button small">
              Log out
            </button>
          </Form>
        </div>
      </aside>
      <main className="content" aria-busy={loading || undefined}>
        <Outlet />
      </main>
    </div>
  );
}
