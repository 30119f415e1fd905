import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import {
  Form,
  isRouteErrorResponse,
  Link,
  type ShouldRevalidateFunction,
  useActionData,
  useFetcher,
  useLoaderData,
  useRevalidator,
  useRouteError,
} from "@remix-run/react";
import { TRPCError } from "@trpc/server";
import { useEffect, useRef, useState } from "react";
import { ChartFrame, LatencyOverTimeChart } from "~/components/charts";
import { CodeView } from "~/components/code";
import { CONSOLE_FETCHER, type ConsoleData, InvocationConsole } from "~/components/console";
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
import { OutcomeBadge, OutputBlock, StartBadge, TimingBar } from "~/components/invocations";
import { PercentileTable } from "~/components/latency-table";
import { LocalTime } from "~/components/local-time";
import { readConsoleForm } from "~/lib/console";
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
  siteOrigin,
} from "~/lib/functions.server";
import { requireUser } from "~/lib/guards.server";
import { languageOf } from "~/lib/highlight";
import { invokeThroughRoute } from "~/lib/invoke.server";
import { ENGINE_NAMES, formatMs, pivotSeries, RANGES, sortPercentiles } from "~/lib/latency";
import { RUNTIME_NAMES, type StyleName } from "~/lib/starters";
import { HISTOGRAM_RELATIVE_ERROR } from "../../server/invocations/histogram";

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${data?.fn.name ?? "Function"} · Cloudless` },
];

/** The function page's latency chart covers a day; the Latency page has the other ranges. */
const CHART_RANGE = RANGES["24h"];
const CALLS_PER_PAGE = 10;

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { caller } = await requireUser(request, context);
  const id = params.id ?? "";
  const fn = await orNotFound(caller.functions.get({ id }));
  const cursor = new URL(request.url).searchParams.get("calls") || undefined;
  const to = new Date();
  const from = new Date(to.getTime() - CHART_RANGE.ms);
  const [versions, code, calls, percentiles, series, schedules] = await Promise.all([
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
    // A cursor from an old link may name a call that is gone: that is an empty page, not an error.
    caller.invocations.logs({
      functionId: id,
      limit: CALLS_PER_PAGE,
      cursor: cursor?.slice(0, 64),
    }),
    caller.invocations.percentiles({ from, to, functionId: id }),
    caller.invocations.series({ from, to, functionId: id, buckets: CHART_RANGE.buckets }),
    caller.schedules.list({ functionId: id }),
  ]);
  return {
    fn,
    schedules,
    versions,
    code,
    calls: { ...calls, paged: Boolean(cursor) },
    latency: { from: from.getTime(), to: to.getTime(), percentiles, series },
    origin: siteOrigin(request, context),
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
  if (intent === "invoke") {
    const fn = await orNotFound(caller.functions.get({ id }));
    const answer = await invokeThroughRoute(request, context, fn, readConsoleForm(form));
    const result: ConsoleData = { ok: true, intent, message: "", answer };
    return result;
  }
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
  if (intent === "schedule-add") {
    const values = {
      intent,
      cron: String(form.get("cron") ?? ""),
      timezone: String(form.get("timezone") ?? "UTC"),
      event: String(form.get("event") ?? ""),
    };
    let event: unknown = {};
    if (values.event.trim()) {
      try {
        event = JSON.parse(values.event);
      } catch {
        return refuse({ event: ["The event is not valid JSON"] }, values);
      }
    }
    return formAction(async () => {
      await caller.schedules.create({
        functionId: id,
        cron: values.cron,
        timezone: values.timezone || "UTC",
        event: event as never,
      });
      return { ok: true as const, intent, message: "Schedule added." };
    }, values);
  }
  if (intent === "schedule-toggle" || intent === "schedule-delete") {
    const scheduleId = String(form.get("scheduleId") ?? "");
    return formAction(
      async () => {
        if (intent === "schedule-delete") {
          await caller.schedules.delete({ id: scheduleId });
          return { ok: true as const, intent: "schedule-add", message: "Schedule deleted." };
        }
        const enabled = form.get("enabled") === "true";
        await caller.schedules.setEnabled({ id: scheduleId, enabled });
        return {
          ok: true as const,
          intent: "schedule-add",
          message: enabled ? "Schedule resumed." : "Schedule paused.",
        };
      },
      { intent: "schedule-add" },
    );
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

/**
 * A console run changes nothing the loader reads until its record is written
 * (batched, a fraction of a second later): the page refreshes its calls then,
 * itself (useRefreshUntilRecorded), instead of reloading everything at once.
 */
export const shouldRevalidate: ShouldRevalidateFunction = ({
  formData,
  defaultShouldRevalidate,
}) => (formData?.get("intent") === "invoke" ? false : defaultShouldRevalidate);

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
  const { fn, versions, code, urls, maxBytes, created, calls, latency, origin } =
    useLoaderData<typeof loader>();
  const live = fn.activeVersion;
  const actionData = useActionData<typeof action>();
  const fallback =
    actionData && "intent" in actionData && actionData.intent === "invoke"
      ? (actionData as ConsoleData)
      : undefined;
  useRefreshUntilRecorded(calls);
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
      <section id="console" className="section" aria-labelledby="console-title">
        <div className="card">
          <h2 id="console-title">Run it</h2>
          <p className="muted">
            Calls the function through its URL, signed in as you: the answer is exactly what a
            client gets, and the call is recorded like any other.
          </p>
          <InvocationConsole fn={fn} urls={urls} origin={origin} fallback={fallback} />
        </div>
      </section>
      <SchedulesSection />
      <CallLog calls={calls} />
      <LatencySection fnId={fn.id} latency={latency} />
      <CodeSection fn={fn} code={code} maxBytes={maxBytes} />
      <VersionsSection versions={versions} />
      {/* A save changes updatedAt, and the form starts again from what was saved. */}
      <SettingsSection key={new Date(fn.updatedAt).toISOString()} fn={fn} />
      <DeleteSection name={fn.name} />
    </>
  );
}

function CallSection({ fn, urls }: Pick<LoaderData, "fn" | "urls">) {
  return (
    <section className="section" aria-labelledby="call-title">
      <div className="card">
        <h2 id="call-title">Call it</h2>
        <p className="muted">
          {fn.isPublic
            ? "Public: anyone with a URL can call it."
            : "Private: call it signed in, or with an API key from Settings."}{" "}
          GET passes the query, POST a JSON body. The console below shows both as curl and SDK code.
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
      </div>
    </section>
  );
}

/**
 * After a console run, reloads the page's data until the call's record is in
 * its log (records are written in batches, within about a second), a few
 * times at most. Only on the log's first page, where a new call appears.
 */
function useRefreshUntilRecorded(calls: LoaderData["calls"]) {
  const fetcher = useFetcher<ConsoleData>({ key: CONSOLE_FETCHER });
  const revalidator = useRevalidator();
  const body = fetcher.data?.answer.body;
  const ranId = body && "invocationId" in body ? body.invocationId : null;
  const tries = useRef({ id: null as string | null, count: 0 });
  const recorded = calls.items.some((c) => c.id === ranId);
  useEffect(() => {
    if (!ranId || recorded || calls.paged || revalidator.state !== "idle") return;
    if (tries.current.id !== ranId) tries.current = { id: ranId, count: 0 };
    if (tries.current.count >= 10) return;
    const timer = setTimeout(() => {
      tries.current.count++;
      revalidator.revalidate();
    }, 400);
    return () => clearTimeout(timer);
  }, [ranId, recorded, calls.paged, revalidator]);
}

function CallLog({ calls }: Pick<LoaderData, "calls">) {
  return (
    <section id="calls" className="section" aria-labelledby="calls-title">
      <div className="page-header section-header">
        <div>
          <h2 id="calls-title">Recent calls</h2>
          <p className="muted">
            Newest first. Open a call for its timings and output (the first 4 KiB of each stream).
          </p>
        </div>
      </div>
      {calls.items.length === 0 ? (
        <div className="card empty">
          <p>
            {calls.paged
              ? "No older calls."
              : "No calls yet. Run it above, or call its URL: each call shows up here within a second."}
          </p>
        </div>
      ) : (
        <ul className="call-log">
          {calls.items.map((call) => (
            <li key={call.id} id={`call-${call.id}`}>
              <details>
                <summary>
                  <span className="call-when">
                    <DateTime value={call.createdAt} />
                  </span>
                  <span className="call-badges">
                    <StartBadge start={call.start} />
                    <OutcomeBadge call={call} />
                    {call.async ? <span className="badge async">async</span> : null}
                  </span>
                  <span className="call-engine">
                    {ENGINE_NAMES[call.engine]} · v{call.versionNumber}
                  </span>
                  <span className="call-latency">{formatMs(call.totalMs)}</span>
                </summary>
                <div className="call-body">
                  {call.async && call.queueWaitMs !== null ? (
                    <p className="queue-wait muted">
                      Queue wait (enqueued → started): <strong>{formatMs(call.queueWaitMs)}</strong>
                    </p>
                  ) : null}
                  <TimingBar timings={call} />
                  {call.error ? <p className="error-excerpt">{call.error}</p> : null}
                  <div className="outputs">
                    <OutputBlock label="stdout" text={call.stdout} />
                    <OutputBlock label="stderr" text={call.stderr} tone="error" />
                  </div>
                  <p className="muted small-text">
                    Call <code>{call.id}</code>
                  </p>
                </div>
              </details>
            </li>
          ))}
        </ul>
      )}
      {calls.paged || calls.nextCursor ? (
        <nav className="pager" aria-label="Pages of calls">
          {calls.paged ? (
            <Link className="button small" to="?#calls" preventScrollReset>
              Newest calls
            </Link>
          ) : null}
          {calls.nextCursor ? (
            <Link
              className="button small"
              to={`?calls=${encodeURIComponent(calls.nextCursor)}#calls`}
              preventScrollReset
            >
              Older calls
            </Link>
          ) : null}
        </nav>
      ) : null}
    </section>
  );
}

function SchedulesSection() {
  const { schedules } = useLoaderData<typeof loader>();
  const { notice, formError, errors, values } = useAnswer("schedule-add");
  // A new schedule reads its expression in the browser's timezone unless the user picks another.
  useEffect(() => {
    const input = document.querySelector<HTMLInputElement>('#schedules input[name="timezone"]');
    if (input && !values?.timezone) {
      input.value = Intl.DateTimeFormat().resolvedOptions().timeZone;
    }
  }, [values?.timezone]);
  return (
    <section id="schedules" className="section" aria-labelledby="schedules-title">
      <div className="card">
        <h2 id="schedules-title">Schedules</h2>
        <p className="muted">
          Cron runs go through the async queue (retries, records, dead letter). Next runs are shown
          in your browser's timezone.
        </p>
        <FormMessage error={formError} notice={notice} />
        {schedules.length === 0 ? (
          <p className="muted">No schedules yet.</p>
        ) : (
          <ul className="schedule-list">
            {schedules.map((s) => (
              <li key={s.id} data-schedule={s.id}>
                <div className="schedule-head">
                  <code>{s.cron}</code>
                  <span className="muted">{s.timezone}</span>
                  <span className={s.enabled ? "badge ok" : "badge muted"}>
                    {s.enabled ? "Active" : "Paused"}
                  </span>
                  <span className="muted">
                    {s.runs} run{s.runs === 1 ? "" : "s"}
                  </span>
                </div>
                {s.nextRuns.length > 0 ? (
                  <ol className="schedule-runs" aria-label="Next runs">
                    {s.nextRuns.map((run) => (
                      <li key={String(run)}>
                        <LocalTime value={run} />
                      </li>
                    ))}
                  </ol>
                ) : null}
                <p className="small-text">
                  Last run:{" "}
                  {s.lastRun ? (
                    <>
                      <span
                        className={s.lastRun.state === "succeeded" ? "badge ok" : "badge error"}
                      >
                        {s.lastRun.state}
                      </span>{" "}
                      {s.lastRun.tickAt ? <LocalTime value={s.lastRun.tickAt} /> : null}{" "}
                      {s.lastRun.lastInvocationId ? (
                        <a href={`#call-${s.lastRun.lastInvocationId}`}>record</a>
                      ) : null}{" "}
                      <a href={`/api/invocations/${s.lastRun.id}`}>status</a>
                    </>
                  ) : (
                    <span className="muted">none yet</span>
                  )}
                </p>
                <div className="schedule-actions">
                  <Form method="post" preventScrollReset>
                    <input type="hidden" name="scheduleId" value={s.id} />
                    <input type="hidden" name="enabled" value={s.enabled ? "false" : "true"} />
                    <button
                      className="button small"
                      type="submit"
                      name="intent"
                      value="schedule-toggle"
                    >
                      {s.enabled ? "Pause" : "Resume"}
                    </button>
                  </Form>
                  <Form method="post" preventScrollReset>
                    <input type="hidden" name="scheduleId" value={s.id} />
                    <button
                      className="button small danger"
                      type="submit"
                      name="intent"
                      value="schedule-delete"
                    >
                      Delete
                    </button>
                  </Form>
                </div>
              </li>
            ))}
          </ul>
        )}
        <Form method="post" className="form-section" noValidate preventScrollReset>
          <input type="hidden" name="intent" value="schedule-add" />
          <h3>Add a schedule</h3>
          <div className="form-grid">
            <Field
              label="Cron expression"
              name="cron"
              defaultValue={values?.cron ?? ""}
              placeholder="*/5 * * * *"
              errors={errors?.cron}
              autoComplete="off"
              spellCheck={false}
              hint="5 fields (minute first), or 6 with seconds first"
            />
            <Field
              label="Timezone"
              name="timezone"
              defaultValue={values?.timezone ?? "UTC"}
              errors={errors?.timezone}
              autoComplete="off"
              spellCheck={false}
              hint="IANA name, e.g. Europe/Berlin"
            />
          </div>
          <Field
            label="Event (JSON)"
            name="event"
            defaultValue={values?.event ?? ""}
            placeholder='{"report": "daily"}'
            errors={errors?.event}
            autoComplete="off"
            spellCheck={false}
          />
          <div className="button-row form-actions">
            <SubmitButton intent="schedule-add" pendingText="Adding…">
              Add schedule
            </SubmitButton>
          </div>
        </Form>
      </div>
    </section>
  );
}

function LatencySection({ fnId, latency }: { fnId: string; latency: LoaderData["latency"] }) {
  const rows = sortPercentiles(latency.percentiles);
  const { points, series } = pivotSeries(latency.series.rows);
  return (
    <section className="section" aria-labelledby="latency-title">
      <div className="page-header section-header">
        <div>
          <h2 id="latency-title">Latency, last {CHART_RANGE.label}</h2>
          <p className="muted">
            From per-minute histograms: percentiles within about{" "}
            {Math.round(HISTOGRAM_RELATIVE_ERROR * 100)}%. Logarithmic axis, UTC.
          </p>
        </div>
        <Link className="button small" to={`/user/latency?fn=${encodeURIComponent(fnId)}`}>
          More on the Latency page
        </Link>
      </div>
      {rows.length === 0 ? (
        <div className="card empty">
          <p>No calls in the last {CHART_RANGE.label}.</p>
        </div>
      ) : (
        <div className="card stack">
          <ChartFrame
            title="p50 per start kind and engine"
            caption="Nanos lines are dashed; the table has the numbers."
            height={240}
          >
            {() => (
              <LatencyOverTimeChart
                points={points}
                series={series}
                from={latency.from}
                to={latency.to}
                showP95={false}
                height={240}
              />
            )}
          </ChartFrame>
          <PercentileTable rows={rows} />
        </div>
      )}
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
        <h3>Async calls</h3>
        <div className="form-grid">
          <Field
            label="Retries"
            name="asyncRetries"
            type="number"
            min={0}
            max={5}
            defaultValue={sent.asyncRetries ?? fn.asyncRetries}
            errors={errors?.asyncRetries}
            hint="After a crash, timeout, out of memory or an unavailable engine (0-5)"
          />
          <label className="checkbox">
            <input
              type="checkbox"
              name="retryOnError"
              defaultChecked={values ? sent.retryOnError === "on" : fn.retryOnError}
            />{" "}
            Also retry when the code exits with an error
          </label>
        </div>
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
