import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import {
  Form,
  isRouteErrorResponse,
  Link,
  useActionData,
  useLoaderData,
  useRouteError,
} from "@remix-run/react";
import { TRPCError } from "@trpc/server";
import { useState } from "react";
import { CodeView } from "~/components/code";
import { CopyButton } from "~/components/copy-button";
import { DateTime } from "~/components/date-time";
import { Field, FormMessage, SubmitButton } from "~/components/form";
import {
  AccessFields,
  ChoiceField,
  type CodeMode,
  CodeSource,
  EnvEditor,
  formatBytes,
  keepRefusedFile,
  LimitFields,
  STYLE_OPTIONS,
} from "~/components/function-form";
import { formAction } from "~/lib/form-errors.server";
import {
  envRowsValue,
  envUpdate,
  invocationUrls,
  maxCodeBytes,
  orNotFound,
  readCode,
  readEnvRows,
  readSettings,
  refuse,
} from "~/lib/functions.server";
import { requireUser } from "~/lib/guards.server";
import { languageOf } from "~/lib/highlight";
import { RUNTIME_NAMES, type StyleName } from "~/lib/starters";

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${data?.fn.name ?? "Function"} · Cloudless` },
];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { caller } = await requireUser(request, context);
  const id = params.id ?? "";
  const fn = await orNotFound(caller.functions.get({ id }));
  const [versions, code] = await Promise.all([
    caller.functions.listVersions({ id }),
    // Storage can be down while the database is not: the rest of the page still works.
    caller.functions.getCode({ id }).then(
      (c) => ({ ok: true as const, ...c }),
      (error: unknown) => {
        if (error instanceof TRPCError && error.code !== "INTERNAL_SERVER_ERROR") {
          return { ok: false as const, error: error.message };
        }
        throw error;
      },
    ),
  ]);
  return {
    fn,
    versions,
    code,
    urls: invocationUrls(request, context, fn),
    maxBytes: maxCodeBytes(context),
    created: new URL(request.url).searchParams.has("created"),
  };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const { caller } = await requireUser(request, context);
  const id = params.id ?? "";
  const form = await request.formData();
  const intent = String(form.get("intent") ?? "");
  if (intent === "settings") {
    const { values, settings } = readSettings(form);
    const rows = readEnvRows(form);
    const env = envUpdate(rows);
    Object.assign(values, { intent, env: envRowsValue(rows) });
    if (!env.ok) return refuse({ env: [env.error] }, values);
    return formAction(
      async () => {
        await caller.functions.updateSettings({ id, settings: { ...settings, env: env.env } });
        return { ok: true as const, intent, message: "Settings saved." };
      },
      values,
      { nestedUnder: "settings" },
    );
  }
  if (intent === "upload") {
    const values = { intent, source: String(form.get("source") ?? "") };
    const code = await readCode(form);
    if (!code.ok) return refuse({ code: [code.error] }, values);
    return formAction(async () => {
      const { created, version } = await caller.functions.uploadCode({ id, ...code.code });
      const message = created
        ? `Version ${version?.number} is live.`
        : `Nothing changed: that code is already live as version ${version?.number}.`;
      return { ok: true as const, intent, message };
    }, values);
  }
  if (intent === "rollback") {
    const number = Number(form.get("version"));
    return formAction(
      async () => {
        const version = await caller.functions.rollback({ id, version: number });
        return { ok: true as const, intent, message: `Version ${version.number} is live again.` };
      },
      { intent },
    );
  }
  if (intent === "delete") {
    const fn = await orNotFound(caller.functions.get({ id }));
    const confirm = String(form.get("confirm") ?? "").trim();
    if (confirm !== fn.name) {
      return refuse({ confirm: [`Type ${fn.name} to confirm`] }, { intent, confirm });
    }
    return formAction(
      async () => {
        await caller.functions.delete({ id });
        throw redirect(`/user/functions?deleted=${encodeURIComponent(fn.name)}`);
      },
      { intent },
    );
  }
  throw new Response("Unknown action", { status: 400 });
}

type LoaderData = ReturnType<typeof useLoaderData<typeof loader>>;

/** This intent's answer: a notice, field errors or a form error, for its own section. */
function useAnswer(intent: string) {
  const answer = useActionData<typeof action>();
  if (!answer) return {};
  if (answer.ok) return answer.intent === intent ? { notice: answer.message } : {};
  if (answer.values?.intent !== intent) return {};
  return { formError: answer.formError, errors: answer.fieldErrors, values: answer.values };
}

export default function FunctionPage() {
  const { fn, versions, code, urls, maxBytes, created } = useLoaderData<typeof loader>();
  const live = fn.activeVersion;
  return (
    <>
      <div className="page-header">
        <div className="title-block">
          <p className="crumbs">
            <Link to="/user/functions">Functions</Link>
          </p>
          <h1>{fn.name}</h1>
          {fn.description ? <p className="muted">{fn.description}</p> : null}
          <ul className="facts" aria-label="Summary">
            <li>{RUNTIME_NAMES[fn.runtime]}</li>
            <li>{fn.style === "script" ? "Script" : "Handler"}</li>
            <li>
              <code>{fn.handler}</code>
            </li>
            <li>{live ? `Version ${live.number} live` : "No live version"}</li>
            <li className={fn.isPublic ? "public" : undefined}>
              {fn.isPublic ? "Public" : "Private"}
            </li>
          </ul>
        </div>
      </div>
      <FormMessage notice={created ? `Created ${fn.name}: version 1 is live.` : undefined} />
      <CallSection fn={fn} urls={urls} />
      <CodeSection fn={fn} code={code} maxBytes={maxBytes} />
      <VersionsSection versions={versions} />
      {/* A save changes updatedAt, and the form starts again from what was saved. */}
      <SettingsSection key={new Date(fn.updatedAt).toISOString()} fn={fn} />
      <DeleteSection name={fn.name} />
    </>
  );
}

function CallSection({ fn, urls }: Pick<LoaderData, "fn" | "urls">) {
  const docker = urls[0]!.url;
  const example =
    fn.style === "script"
      ? `curl "${docker}?a=5&b=10"`
      : `curl -X POST -H "Content-Type: application/json" -d '{"name": "Ada"}' \\\n  ${docker}`;
  const auth = fn.isPublic ? "" : ` -H "Authorization: Bearer <API key>"`;
  return (
    <section className="section" aria-labelledby="call-title">
      <div className="card">
        <h2 id="call-title">Call it</h2>
        <p className="muted">
          {fn.isPublic
            ? "Public: anyone with a URL can call it."
            : "Private: call it signed in, or with an API key from Settings."}{" "}
          GET passes the query, POST a JSON body.
        </p>
        <ul className="urls">
          {urls.map((u) => (
            <li key={u.engine}>
              <div className="url-head">
                <strong>{u.engine === "docker" ? "Docker" : "Nanos"}</strong>
                <span className={u.available ? "badge ok" : "badge muted"}>
                  {u.available ? "Available" : "Unavailable"}
                </span>
                {u.note ? <span className="muted url-note">{u.note}</span> : null}
              </div>
              <div className="url-row">
                <code className="url">{u.url}</code>
                <CopyButton
                  value={u.url}
                  label={`${u.engine === "docker" ? "Docker" : "Nanos"} URL`}
                />
              </div>
            </li>
          ))}
        </ul>
        <pre className="code-sample command">
          <code>{example.replace(/^curl/, `curl${auth}`)}</code>
        </pre>
      </div>
    </section>
  );
}

function CodeSection({ fn, code, maxBytes }: Pick<LoaderData, "fn" | "code" | "maxBytes">) {
  const { notice, formError, errors, values } = useAnswer("upload");
  const failed = Boolean(formError || errors);
  return (
    <section className="section" aria-labelledby="code-title">
      <div className="page-header section-header">
        <div>
          <h2 id="code-title">Code</h2>
          {code.ok ? (
            <p className="muted">
              <code>{code.fileName}</code> · version {code.version.number} ·{" "}
              {formatBytes(code.version.sizeBytes)}
            </p>
          ) : null}
        </div>
      </div>
      <FormMessage notice={notice} />
      {code.ok ? (
        <CodeView
          code={code.code}
          language={languageOf(fn.runtime)}
          label={`${code.fileName}, version ${code.version.number}`}
        />
      ) : (
        <FormMessage error={`The code cannot be shown right now: ${code.error}`} />
      )}
      {/* A new live version closes it and starts it again from that version's code. */}
      <details key={fn.activeVersion?.id} className="card disclosure" open={failed || undefined}>
        <summary>Upload a new version</summary>
        <UploadForm
          fn={fn}
          current={code.ok ? code.code : ""}
          maxBytes={maxBytes}
          errors={errors}
          formError={formError}
          source={values?.source}
        />
      </details>
    </section>
  );
}

function UploadForm({
  fn,
  current,
  maxBytes,
  errors,
  formError,
  source,
}: {
  fn: LoaderData["fn"];
  current: string;
  maxBytes: number;
  errors?: Partial<Record<string, string[]>>;
  formError?: string;
  source?: string;
}) {
  const [mode, setMode] = useState<CodeMode>(source === "file" ? "file" : "editor");
  const [code, setCode] = useState(current);
  return (
    <Form
      method="post"
      encType="multipart/form-data"
      className="stack"
      noValidate
      preventScrollReset
      onSubmit={keepRefusedFile}
    >
      <input type="hidden" name="intent" value="upload" />
      <p className="muted">
        The new version goes live at once; calls in progress finish on the old one. You can roll
        back below.
      </p>
      <FormMessage error={formError} />
      <CodeSource
        runtime={fn.runtime}
        mode={mode}
        onModeChange={setMode}
        code={code}
        onCodeChange={setCode}
        maxBytes={maxBytes}
        errors={errors?.code ?? errors?.codeBase64 ?? errors?.fileName}
        editorLabel="New code"
      />
      <div className="button-row">
        <SubmitButton intent="upload" pendingText="Checking and uploading…">
          Upload new version
        </SubmitButton>
      </div>
    </Form>
  );
}

function VersionsSection({ versions }: Pick<LoaderData, "versions">) {
  const { notice, formError } = useAnswer("rollback");
  return (
    <section className="section" aria-labelledby="versions-title">
      <div className="page-header section-header">
        <div>
          <h2 id="versions-title">Versions</h2>
          <p className="muted">Every upload is kept. Rolling back makes an older one live again.</p>
        </div>
      </div>
      <FormMessage error={formError} notice={notice} />
      <div className="table-wrap stack-narrow">
        <table>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Uploaded</th>
              <th scope="col">Size</th>
              <th scope="col">SHA-256</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.id}>
                <td data-label="Version">
                  <span className="device">
                    Version {v.number}
                    {v.active ? <span className="badge ok">Live</span> : null}
                  </span>
                </td>
                <td data-label="Uploaded">
                  <DateTime value={v.createdAt} />
                </td>
                <td data-label="Size">{formatBytes(v.sizeBytes)}</td>
                <td data-label="SHA-256">
                  <code title={v.sha256}>{v.sha256.slice(0, 12)}</code>
                </td>
                <td className="actions">
                  {v.active ? null : (
                    <Form method="post" preventScrollReset>
                      <input type="hidden" name="intent" value="rollback" />
                      <input type="hidden" name="version" value={v.number} />
                      <button type="submit" className="button small">
                        Roll back<span className="visually-hidden"> to version {v.number}</span>
                      </button>
                    </Form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function SettingsSection({ fn }: Pick<LoaderData, "fn">) {
  const { notice, formError, errors, values } = useAnswer("settings");
  const sent = values ?? {};
  const [style, setStyle] = useState<StyleName>((sent.style as StyleName | undefined) ?? fn.style);
  return (
    <section className="section" aria-labelledby="settings-title">
      <Form method="post" className="card form-section" noValidate preventScrollReset>
        <input type="hidden" name="intent" value="settings" />
        <h2 id="settings-title">Settings</h2>
        <FormMessage error={formError} notice={notice} />
        <div className="form-grid">
          <Field
            label="Name"
            name="name"
            defaultValue={sent.name ?? fn.name}
            errors={errors?.name}
            autoComplete="off"
            spellCheck={false}
            hint="Lowercase letters, digits and dashes"
          />
          <Field
            label="Handler"
            name="handler"
            defaultValue={sent.handler ?? fn.handler}
            errors={errors?.handler}
            autoComplete="off"
            autoCapitalize="off"
            spellCheck={false}
            hint={
              <span>
                <code>module.function</code>; it names the function in its URL
              </span>
            }
          />
        </div>
        <Field
          label="Description"
          name="description"
          defaultValue={sent.description ?? fn.description}
          errors={errors?.description}
        />
        <ChoiceField
          legend="Style"
          name="style"
          value={style}
          onChange={setStyle}
          options={STYLE_OPTIONS}
          errors={errors?.style}
        />
        <h3>Resources</h3>
        <LimitFields
          errors={errors}
          defaults={{
            memoryMb: sent.memoryMb ?? fn.memoryMb,
            timeoutSeconds: sent.timeoutSeconds ?? fn.timeoutSeconds,
            maxConcurrency: sent.maxConcurrency ?? fn.maxConcurrency,
            minWarm: sent.minWarm ?? fn.minWarm,
          }}
        />
        <h3>Access</h3>
        <AccessFields
          defaults={{
            isPublic: values ? sent.isPublic === "on" : fn.isPublic,
            networkEnabled: values ? sent.networkEnabled === "on" : fn.networkEnabled,
          }}
        />
        <h3>Environment variables</h3>
        <p className="muted">
          Saved values are shown only as a hint. Keep them, replace them or remove them.
        </p>
        <EnvEditor saved={fn.env} errors={errors?.env} />
        <div className="button-row form-actions">
          <SubmitButton intent="settings" pendingText="Saving…">
            Save settings
          </SubmitButton>
        </div>
      </Form>
    </section>
  );
}

function DeleteSection({ name }: { name: string }) {
  const { formError, errors, values } = useAnswer("delete");
  return (
    <section className="section" aria-labelledby="delete-title">
      <Form method="post" className="card danger-zone stack" noValidate>
        <input type="hidden" name="intent" value="delete" />
        <h2 id="delete-title">Delete function</h2>
        <p className="muted">
          Deletes {name}, every version and its code. Its URLs answer 404 from then on. This cannot
          be undone.
        </p>
        <FormMessage error={formError} />
        <Field
          label={`Type ${name} to confirm`}
          name="confirm"
          defaultValue={values?.confirm}
          errors={errors?.confirm}
          autoComplete="off"
          autoCapitalize="off"
          spellCheck={false}
        />
        <div className="button-row">
          <SubmitButton intent="delete" className="button danger" pendingText="Deleting…">
            Delete {name}
          </SubmitButton>
        </div>
      </Form>
    </section>
  );
}

/** Inside the signed-in shell, so a wrong link still leaves the navigation in place. */
export function ErrorBoundary() {
  const error = useRouteError();
  const notFound = isRouteErrorResponse(error) && error.status === 404;
  return (
    <>
      <div className="page-header">
        <div>
          <h1>{notFound ? "Function not found" : "Something went wrong"}</h1>
          <p className="muted">
            {notFound
              ? "There is no such function in your account. It may have been deleted."
              : "The function could not be loaded. Try again in a moment."}
          </p>
        </div>
      </div>
      <Link className="button primary" to="/user/functions">
        All functions
      </Link>
    </>
  );
}
