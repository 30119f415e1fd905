import { useFetcher } from "@remix-run/react";
import { type FormEvent, useId, useRef, useState } from "react";
import {
  type ConsoleAnswer,
  type ConsoleCall,
  type ConsoleMode,
  curlCommand,
  jsonProblem,
  MAX_PARAMS,
  type ParamRow,
  ranToCompletion,
  sdkSnippet,
} from "~/lib/console";
import { ENGINE_NAMES, type EngineName, formatMs, START_NAMES } from "~/lib/latency";
import { CopyButton } from "./copy-button";
import { ErrorText } from "./form";
import { ChoiceField } from "./function-form";
import { AlertIcon } from "./icons";
import { callOutcome, OutcomeBadge, OutputBlock, StartBadge, TimingBar } from "./invocations";

/** What the function page's action answers a console run (see its action). */
export interface ConsoleData {
  ok: true;
  intent: "invoke";
  message: string;
  answer: ConsoleAnswer;
}

/** The fetcher the console submits with; the page reads it too, to refresh its calls. */
export const CONSOLE_FETCHER = "invocation-console";

export interface ConsoleProps {
  fn: {
    userId: string;
    handler: string;
    style: "script" | "handler";
    isPublic: boolean;
  };
  urls: Array<{ engine: EngineName; url: string; available: boolean; note: string }>;
  /** This site as its users reach it: what the snippets call. */
  origin: string;
  /** The answer of a run posted without scripts (then there is no fetcher data). */
  fallback?: ConsoleData;
}

interface RowState extends ParamRow {
  uid: number;
}

/**
 * Run the function from its page: query parameters as rows (in order: a
 * script's argv) or a JSON body, an engine, and the answer as a client gets
 * it, with where the time went. The same call is shown as curl and SDK code.
 */
export function InvocationConsole({ fn, urls, origin, fallback }: ConsoleProps) {
  const fetcher = useFetcher<ConsoleData>({ key: CONSOLE_FETCHER });
  const id = useId();
  const uid = useRef(0);
  const row = (key = "", value = ""): RowState => ({ uid: uid.current++, key, value });
  const [mode, setMode] = useState<ConsoleMode>(fn.style === "script" ? "query" : "json");
  const [rows, setRows] = useState<RowState[]>(() => [row()]);
  const [body, setBody] = useState(fn.style === "script" ? '["5", "10"]' : '{"name": "Ada"}');
  const firstAvailable = urls.find((u) => u.available)?.engine ?? "docker";
  // With no engine up, both stay choosable: a run then shows the route's own 503 and reason.
  const anyAvailable = urls.some((u) => u.available);
  const [engine, setEngine] = useState<EngineName>(firstAvailable);
  const [bodyError, setBodyError] = useState<string | null>(null);
  const bodyRef = useRef<HTMLTextAreaElement>(null);

  const call: ConsoleCall = { engine, mode, params: rows, body };
  const target = urls.find((u) => u.engine === engine) ?? urls[0]!;
  const running = fetcher.state !== "idle";
  const data = fetcher.data ?? fallback;

  const update = (uidToChange: number, change: Partial<ParamRow>) =>
    setRows((all) => all.map((r) => (r.uid === uidToChange ? { ...r, ...change } : r)));

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    const problem = mode === "json" ? jsonProblem(body) : null;
    setBodyError(problem);
    if (problem) {
      // Refused here: the route would answer 400, and the fix is in this field.
      event.preventDefault();
      bodyRef.current?.focus();
    }
  };

  return (
    <div className="console">
      <fetcher.Form method="post" className="stack" noValidate onSubmit={onSubmit}>
        <input type="hidden" name="intent" value="invoke" />
        <ChoiceField
          legend="Send"
          name="mode"
          compact
          value={mode}
          onChange={setMode}
          options={[
            { value: "query", label: "Query parameters" },
            { value: "json", label: "JSON body" },
          ]}
        />
        {mode === "query" ? (
          <div className="params">
            <p className="field-hint" id={`${id}-params-hint`}>
              {fn.style === "script"
                ? "Sent as GET ?name=value&…; the values become the script's arguments, in this order."
                : "Sent as GET ?name=value&…; the handler's event is an object of them."}
            </p>
            <div className="param-head" aria-hidden="true">
              <span>Name</span>
              <span>Value</span>
            </div>
            <ul className="param-rows">
              {rows.map((r, i) => (
                <li key={r.uid} className="param-row">
                  <div className="param-key">
                    <input
                      name={`param.${i}.key`}
                      aria-label={`Parameter ${i + 1} name`}
                      value={r.key}
                      onChange={(e) => update(r.uid, { key: e.target.value })}
                      placeholder={fn.style === "script" ? `arg${i}` : "name"}
                      autoComplete="off"
                      autoCapitalize="off"
                      spellCheck={false}
                    />
                  </div>
                  <div className="param-value">
                    <input
                      name={`param.${i}.value`}
                      aria-label={`Parameter ${i + 1} value`}
                      value={r.value}
                      onChange={(e) => update(r.uid, { value: e.target.value })}
                      placeholder="value"
                      autoComplete="off"
                      autoCapitalize="off"
                      spellCheck={false}
                    />
                  </div>
                  <div className="param-action">
                    <button
                      type="button"
                      className="button small"
                      onClick={() =>
                        setRows((all) =>
                          all.length === 1 ? [row()] : all.filter((x) => x.uid !== r.uid),
                        )
                      }
                    >
                      Remove<span className="visually-hidden"> parameter {i + 1}</span>
                    </button>
                  </div>
                </li>
              ))}
            </ul>
            <button
              type="button"
              className="button small"
              disabled={rows.length >= MAX_PARAMS}
              onClick={() => setRows((all) => [...all, row()])}
            >
              Add parameter
            </button>
          </div>
        ) : (
          <div className="field">
            <label htmlFor={`${id}-body`}>JSON body</label>
            <textarea
              ref={bodyRef}
              id={`${id}-body`}
              name="body"
              className="json-body"
              rows={5}
              value={body}
              onChange={(e) => {
                setBody(e.target.value);
                if (bodyError) setBodyError(null);
              }}
              aria-invalid={bodyError ? true : undefined}
              aria-describedby={bodyError ? `${id}-body-error` : `${id}-body-hint`}
              spellCheck={false}
              autoCapitalize="off"
            />
            {bodyError ? (
              <ErrorText id={`${id}-body-error`}>{bodyError}</ErrorText>
            ) : (
              <p className="field-hint" id={`${id}-body-hint`}>
                {fn.style === "script"
                  ? "Sent as POST; a JSON array becomes the script's arguments."
                  : "Sent as POST; it is the handler's event."}
              </p>
            )}
          </div>
        )}
        <ChoiceField
          legend="Engine"
          name="engine"
          value={engine}
          onChange={setEngine}
          options={urls.map((u) => ({
            value: u.engine,
            label: ENGINE_NAMES[u.engine],
            hint: u.available ? u.note || "Available" : `Unavailable: ${u.note}`,
            disabled: anyAvailable && !u.available,
          }))}
        />
        <div className="button-row">
          <button type="submit" className="button primary" disabled={running} aria-busy={running}>
            {running ? "Running…" : "Run"}
          </button>
          <span className="muted console-via">
            {call.mode === "json" ? "POST" : "GET"} through the function's URL, as a client would
          </span>
        </div>
      </fetcher.Form>

      <p className="visually-hidden" role="status">
        {running ? `Running on ${ENGINE_NAMES[engine]}…` : data ? announce(data.answer) : ""}
      </p>
      {running ? (
        <div className="console-result pending" aria-hidden="true">
          <span className="spinner" /> Calling {ENGINE_NAMES[engine]}…
        </div>
      ) : data ? (
        <ConsoleResult answer={data.answer} style={fn.style} />
      ) : null}

      <div className="snippets">
        <h3>The same call from elsewhere</h3>
        {fn.isPublic ? null : (
          <p className="muted">
            Private: set <code>CLOUDLESS_API_KEY</code> to an API key from Settings first.
          </p>
        )}
        <Snippet
          label="curl"
          text={curlCommand({ url: target.url, isPublic: fn.isPublic }, call)}
        />
        <Snippet
          label="TypeScript (SDK)"
          text={sdkSnippet(
            { origin, userId: fn.userId, handler: fn.handler, style: fn.style },
            call,
          )}
        />
      </div>
    </div>
  );
}

function Snippet({ label, text }: { label: string; text: string }) {
  return (
    <div className="snippet">
      <div className="snippet-head">
        <h4>{label}</h4>
        <CopyButton value={text} label={`${label} command`} />
      </div>
      <pre className="code-sample command">
        <code>{text}</code>
      </pre>
    </div>
  );
}

/** The one line a screen reader hears when a run ends. */
function announce(answer: ConsoleAnswer): string {
  const body = answer.body;
  if (!ranToCompletion(body)) return `HTTP ${answer.http}: ${body.error}`;
  const outcome = callOutcome(body).label;
  return `${outcome}: ${START_NAMES[body.start].toLowerCase()} start on ${ENGINE_NAMES[body.engine]}, ${formatMs(body.timings.totalMs)}.`;
}

function ConsoleResult({ answer, style }: { answer: ConsoleAnswer; style: "script" | "handler" }) {
  const body = answer.body;
  if (!ranToCompletion(body)) {
    return (
      <div className="console-result refused">
        <div className="alert alert-error">
          <AlertIcon />
          <div className="alert-body">
            <p>
              <strong>HTTP {answer.http}</strong> {body.error}
            </p>
            {body.reason ? <p>{body.reason}</p> : null}
          </div>
        </div>
      </div>
    );
  }
  // A script's result is its stdout: shown once.
  const showResult = style === "handler" && body.result !== null && body.result !== undefined;
  return (
    <div className="console-result" data-invocation={body.invocationId}>
      <div className="result-head">
        <span className={answer.http === 200 ? "badge" : "badge error"}>HTTP {answer.http}</span>
        <OutcomeBadge call={body} />
        <StartBadge start={body.start} />
        <span className="result-meta">
          {ENGINE_NAMES[body.engine]} · version {body.version} · {formatMs(body.timings.totalMs)}
        </span>
      </div>
      <TimingBar timings={body.timings} />
      {body.error ? (
        <p className="error-excerpt" role="alert">
          {body.error}
        </p>
      ) : null}
      <div className="outputs">
        {showResult ? (
          <OutputBlock
            label="Result"
            text={
              typeof body.result === "string" ? body.result : JSON.stringify(body.result, null, 2)
            }
          />
        ) : null}
        <OutputBlock label="stdout" text={body.stdout} truncated={body.truncated?.stdout} />
        <OutputBlock
          label="stderr"
          text={body.stderr}
          truncated={body.truncated?.stderr}
          tone="error"
        />
      </div>
      <p className="muted small-text">
        Call <code>{body.invocationId}</code>
      </p>
    </div>
  );
}
