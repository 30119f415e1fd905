import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { useEffect, useRef, useState } from "react";
import { CopyButton } from "~/components/copy-button";
import { DateTime } from "~/components/date-time";
import { Field, FormMessage, SubmitButton } from "~/components/form";
import { RouteError } from "~/components/route-error";
import { formAction, formValues } from "~/lib/form-errors.server";
import { requireUser } from "~/lib/guards.server";

export const meta: MetaFunction = () => [{ title: "Settings · Cloudless" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { caller, user } = await requireUser(request, context);
  const [sessions, apiKeys] = await Promise.all([
    caller.auth.listSessions(),
    caller.apiKeys.list(),
  ]);
  return { user: { name: user.name, email: user.email }, sessions, apiKeys };
}

/** What a settings form gets back; `key` is a new API key's secret, in this answer only. */
interface Done {
  ok: true;
  intent: string;
  message: string;
  key?: string;
  keyName?: string;
  /** The key whose revocation is being confirmed (pages without scripts). */
  askId?: string;
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { caller, headers } = await requireUser(request, context);
  const form = await request.formData();
  const values = formValues(form, ["intent", "id", "name"]);
  const { intent } = values;
  if (intent === "create-key") {
    return formAction(
      async (): Promise<Done> => {
        const { key, record } = await caller.apiKeys.create({ name: values.name });
        return { ok: true, intent, message: "", key, keyName: record.name };
      },
      { intent, name: values.name },
    );
  }
  if (intent === "ask-revoke-key") {
    // The confirmation step for a page without scripts; with them it happens in place.
    const ask: Done = { ok: true, intent, message: "", askId: values.id };
    return ask;
  }
  if (intent === "revoke-key") {
    return formAction(
      async (): Promise<Done> => {
        await caller.apiKeys.revoke({ id: values.id });
        const name = values.name || "the key";
        return { ok: true, intent, message: `Revoked ${name}: programs using it are refused now.` };
      },
      { intent },
    );
  }
  return formAction(async (): Promise<Done> => {
    if (intent === "revoke-others") {
      const { revoked } = await caller.auth.revokeOtherSessions();
      return { ok: true, intent, message: `Signed out ${revoked} other session(s).` };
    }
    await caller.auth.revokeSession({ id: values.id });
    if (headers.has("Set-Cookie")) throw redirect("/login", { headers });
    return { ok: true, intent, message: "Session signed out." };
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

const KEY_INTENTS = ["create-key", "ask-revoke-key", "revoke-key"];

export default function Settings() {
  const { user, sessions, apiKeys } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const others = sessions.filter((s) => !s.current).length;
  // Each section shows the answers to its own forms.
  const intent = answer?.ok ? answer.intent : answer?.values?.intent;
  const forKeys = Boolean(intent && KEY_INTENTS.includes(intent));
  const result = forKeys ? undefined : answer;
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
      <ApiKeysSection apiKeys={apiKeys} answer={forKeys ? answer : undefined} />
    </>
  );
}

type SettingsAnswer = ReturnType<typeof useActionData<typeof action>>;

function ApiKeysSection({
  apiKeys,
  answer,
}: {
  apiKeys: ReturnType<typeof useLoaderData<typeof loader>>["apiKeys"];
  answer: SettingsAnswer;
}) {
  const created = answer?.ok && answer.key ? { key: answer.key, name: answer.keyName } : undefined;
  const failed = answer && !answer.ok ? answer : undefined;
  const asked = answer?.ok ? answer.askId : undefined;
  const notice = answer?.ok && answer.intent === "revoke-key" ? answer.message : undefined;
  return (
    <section className="section" id="api-keys" aria-labelledby="api-keys-title">
      <div className="page-header section-header">
        <div>
          <h2 id="api-keys-title">API keys</h2>
          <p className="muted">
            For programs, the SDK and the CLI: send one as{" "}
            <code>Authorization: Bearer &lt;key&gt;</code>.
          </p>
        </div>
      </div>
      <FormMessage error={failed?.formError} notice={notice} />
      {created ? (
        <div className="card secret" role="status">
          <h3>Copy your new key now</h3>
          <p>
            This is the only time <strong>{created.name}</strong> is shown in full: Cloudless keeps
            only a hash of it. If you lose it, revoke it and create another.
          </p>
          <div className="url-row">
            <code className="url secret-value">{created.key}</code>
            <CopyButton value={created.key} label="API key" />
          </div>
        </div>
      ) : null}
      {/* Emptied once a key is made from it. */}
      <Form key={created?.key} method="post" className="card inline-form" noValidate>
        <input type="hidden" name="intent" value="create-key" />
        <Field
          label="New key name"
          name="name"
          errors={failed?.fieldErrors?.name}
          defaultValue={failed?.values?.name}
          placeholder="e.g. laptop CLI"
          autoComplete="off"
          maxLength={100}
        />
        <SubmitButton intent="create-key" pendingText="Creating…">
          Create key
        </SubmitButton>
      </Form>
      {apiKeys.length > 0 ? (
        <div className="table-wrap stack-narrow section-gap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {apiKeys.map((key) => (
                <tr key={key.id}>
                  <td data-label="Name">
                    <span className="device">{key.name}</span>
                  </td>
                  <td data-label="Key">
                    <code>cl_{key.prefix}_…</code>
                  </td>
                  <td data-label="Created">
                    <DateTime value={key.createdAt} />
                  </td>
                  <td data-label="Last used">
                    {key.lastUsedAt ? <DateTime value={key.lastUsedAt} /> : "Never"}
                  </td>
                  <td className="actions">
                    <RevokeKey id={key.id} name={key.name} asked={asked === key.id} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p className="muted section-gap">No API keys yet.</p>
      )}
    </section>
  );
}

/**
 * Revoking takes a second click on a button that says what happens. With
 * scripts the question appears in place; without, the server asks it.
 */
function RevokeKey({ id, name, asked }: { id: string; name: string; asked: boolean }) {
  const [asking, setAsking] = useState(asked);
  const confirm = useRef<HTMLButtonElement>(null);
  const first = useRef<HTMLButtonElement>(null);
  const moved = useRef(false);
  useEffect(() => {
    // Focus follows the question, and comes back when it is withdrawn.
    if (!moved.current) return;
    (asking ? confirm : first).current?.focus();
  }, [asking]);
  const ask = (value: boolean) => {
    moved.current = true;
    setAsking(value);
  };
  if (!asking) {
    return (
      <Form method="post">
        <input type="hidden" name="id" value={id} />
        <button
          ref={first}
          type="submit"
          name="intent"
          value="ask-revoke-key"
          className="button small danger"
          onClick={(e) => {
            e.preventDefault();
            ask(true);
          }}
        >
          Revoke<span className="visually-hidden"> key {name}</span>
        </button>
      </Form>
    );
  }
  return (
    <Form method="post" className="confirm" preventScrollReset>
      <input type="hidden" name="intent" value="revoke-key" />
      <input type="hidden" name="id" value={id} />
      <input type="hidden" name="name" value={name} />
      <span className="confirm-question">Programs using it will be refused.</span>
      <button ref={confirm} type="submit" className="button small danger">
        Revoke {name}
      </button>
      <Link
        to="/user/settings#api-keys"
        className="button small"
        onClick={(e) => {
          e.preventDefault();
          ask(false);
        }}
      >
        Cancel
      </Link>
    </Form>
  );
}

export function ErrorBoundary() {
  return <RouteError title="Settings" what="your settings" />;
}
