import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { DateTime } from "~/components/date-time";
import { FormMessage } from "~/components/form";
import { formAction, formValues } from "~/lib/form-errors.server";
import { requireUser } from "~/lib/guards.server";

export const meta: MetaFunction = () => [{ title: "Settings · Cloudless" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { caller, user } = await requireUser(request, context);
  return {
    user: { name: user.name, email: user.email },
    sessions: await caller.auth.listSessions(),
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { caller, headers } = await requireUser(request, context);
  const form = await request.formData();
  const values = formValues(form, ["intent", "id"]);
  return formAction(async () => {
    if (values.intent === "revoke-others") {
      const { revoked } = await caller.auth.revokeOtherSessions();
      return { ok: true as const, message: `Signed out ${revoked} other session(s).` };
    }
    await caller.auth.revokeSession({ id: values.id });
    if (headers.has("Set-Cookie")) throw redirect("/login", { headers });
    return { ok: true as const, message: "Session signed out." };
  });
}

function describeAgent(agent: string | null): string {
  if (!agent) return "Unknown device";
  const browser = /Firefox\//.test(agent)
    ? "Firefox"
    : /Edg\//.test(agent)
      ? "Edge"
      : /Chrom(e|ium)\//.test(agent)
        ? "Chrome"
        : /Safari\//.test(agent)
          ? "Safari"
          : agent.split(" ")[0];
  const os = /Android/.test(agent)
    ? "Android"
    : /iPhone|iPad/.test(agent)
      ? "iOS"
      : /Windows/.test(agent)
        ? "Windows"
        : /Mac OS X/.test(agent)
          ? "macOS"
          : /Linux/.test(agent)
            ? "Linux"
            : "";
  return os ? `${browser} on ${os}` : browser;
}

export default function Settings() {
  const { user, sessions } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const others = sessions.filter((s) => !s.current).length;
  return (
    <>
      <div className="page-header">
        <div>
          <h1>Settings</h1>
          <p className="muted">
            {user.name} · {user.email}
          </p>
        </div>
      </div>
      <FormMessage
        error={result && !result.ok ? result.formError : undefined}
        notice={result?.ok ? result.message : undefined}
      />
      <section className="section" aria-labelledby="sessions-title">
        <div className="page-header section-header">
          <div>
            <h2 id="sessions-title">Sessions</h2>
            <p className="muted">Browsers signed in to your account. Revoke any you do not know.</p>
          </div>
          {others > 0 ? (
            <Form method="post">
              <input type="hidden" name="intent" value="revoke-others" />
              <button type="submit" className="button small danger">
                Sign out all other sessions
              </button>
            </Form>
          ) : null}
        </div>
        <div className="table-wrap stack-narrow">
          <table>
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">IP address</th>
                <th scope="col">Last active</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sessions.map((s) => {
                const device = describeAgent(s.userAgent);
                return (
                  <tr key={s.id}>
                    {/* data-label names each value when rows stack at phone width. */}
                    <td data-label="Device">
                      <span className="device">
                        {device}
                        {s.current ? <span className="badge ok">This device</span> : null}
                      </span>
                    </td>
                    <td data-label="IP address">{s.ip ?? "—"}</td>
                    <td data-label="Last active">
                      <DateTime value={s.lastSeenAt} />
                    </td>
                    <td className="actions">
                      <Form method="post">
                        <input type="hidden" name="intent" value="revoke" />
                        <input type="hidden" name="id" value={s.id} />
                        <button type="submit" className="button small danger">
                          {s.current ? "Sign out" : "Revoke"}
                          {/* Every row has this button: say which session it ends. */}
                          <span className="visually-hidden">
                            {s.current ? " of this device" : ` ${device} session`}
                          </span>
                        </button>
                      </Form>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
