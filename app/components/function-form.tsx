import { type ComponentProps, type ReactNode, useEffect, useId, useRef, useState } from "react";
import { LIMITS, RUNTIME_EXTENSIONS, type RuntimeName } from "../../server/functions/schemas";
import { CodeEditor } from "./code";
import { ErrorText, Field, FieldFrame } from "./form";

/**
 * The parts of the function forms (new function, settings, new version).
 * Field names are the procedures' own, so their errors land next to them.
 */

export type FieldErrors = Partial<Record<string, string[]>> | undefined;

export function SelectField({
  label,
  name,
  errors,
  hint,
  children,
  ...select
}: {
  label: string;
  name: string;
  errors?: string[];
  hint?: ReactNode;
} & ComponentProps<"select">) {
  return (
    <FieldFrame
      label={label}
      name={name}
      errors={errors}
      hint={hint}
      control={(props) => (
        <select {...props} {...select}>
          {children}
        </select>
      )}
    />
  );
}

export function CheckboxField({
  label,
  name,
  hint,
  defaultChecked,
}: {
  label: string;
  name: string;
  hint: string;
  defaultChecked?: boolean;
}) {
  const id = `field-${name}`;
  return (
    <div className="check">
      <input
        type="checkbox"
        id={id}
        name={name}
        defaultChecked={defaultChecked}
        aria-describedby={`${id}-hint`}
      />
      <div>
        <label htmlFor={id}>{label}</label>
        <p className="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      </div>
    </div>
  );
}

/** Radio buttons, each with a line that says what choosing it means. */
export function ChoiceField<V extends string>({
  legend,
  name,
  options,
  value,
  onChange,
  errors,
  compact,
}: {
  legend: string;
  name: string;
  /** A disabled option stays on show with its hint (say why it cannot be chosen there). */
  options: { value: V; label: string; hint?: string; disabled?: boolean }[];
  value: V;
  onChange: (value: V) => void;
  errors?: string[];
  /** Side by side, as a switch between views (no hints). */
  compact?: boolean;
}) {
  const errorId = `field-${name}-error`;
  return (
    <fieldset
      className={compact ? "choices compact" : "choices"}
      aria-describedby={errors?.[0] ? errorId : undefined}
    >
      <legend>{legend}</legend>
      <div className="choice-list">
        {options.map((option) => (
          <label key={option.value} className="choice">
            <input
              type="radio"
              name={name}
              value={option.value}
              checked={value === option.value}
              disabled={option.disabled}
              onChange={() => onChange(option.value)}
            />
            <span>
              <span className="choice-label">{option.label}</span>
              {option.hint ? <span className="choice-hint">{option.hint}</span> : null}
            </span>
          </label>
        ))}
      </div>
      {errors?.[0] ? <ErrorText id={errorId}>{errors[0]}</ErrorText> : null}
    </fieldset>
  );
}

export const STYLE_OPTIONS = [
  {
    value: "handler" as const,
    label: "Handler",
    hint: "handler(event, context) is called; its return value is the result.",
  },
  {
    value: "script" as const,
    label: "Script",
    hint: "Runs as a program with the query values as arguments; what it prints is the result.",
  },
];

export interface LimitValues {
  memoryMb: number | string;
  timeoutSeconds: number | string;
  maxConcurrency: number | string;
  minWarm: number | string;
}

/** Memory, timeout, concurrency and warm minimum, with their ranges as hints. */
export function LimitFields({ defaults, errors }: { defaults: LimitValues; errors: FieldErrors }) {
  const number = (key: keyof typeof LIMITS & keyof LimitValues) => ({
    type: "number",
    inputMode: "numeric" as const,
    min: LIMITS[key].min,
    max: LIMITS[key].max,
    step: 1,
    defaultValue: defaults[key],
    errors: errors?.[key],
    required: true,
  });
  return (
    <div className="form-grid four">
      <Field
        label="Memory (MB)"
        name="memoryMb"
        hint={`${LIMITS.memoryMb.min}–${LIMITS.memoryMb.max} MB per instance`}
        {...number("memoryMb")}
      />
      <Field
        label="Timeout (seconds)"
        name="timeoutSeconds"
        hint={`${LIMITS.timeoutSeconds.min}–${LIMITS.timeoutSeconds.max} s; then the call is stopped`}
        {...number("timeoutSeconds")}
      />
      <Field
        label="Max concurrency"
        name="maxConcurrency"
        hint="Calls at once; more wait, then get 429"
        {...number("maxConcurrency")}
      />
      <Field
        label="Minimum warm"
        name="minWarm"
        hint="Instances kept ready; 0 scales to zero"
        {...number("minWarm")}
      />
    </div>
  );
}

export function AccessFields({
  defaults,
}: {
  defaults: { isPublic: boolean; networkEnabled: boolean };
}) {
  return (
    <div className="stack">
      <CheckboxField
        label="Public"
        name="isPublic"
        hint="Anyone with the URL may call it. Otherwise only you: signed in, or with an API key."
        defaultChecked={defaults.isPublic}
      />
      <CheckboxField
        label="Network access"
        name="networkEnabled"
        hint="Lets the code reach other hosts. Off, its instances have no network at all."
        defaultChecked={defaults.networkEnabled}
      />
    </div>
  );
}

export interface EnvRowState {
  uid: number;
  key: string;
  mode: "keep" | "replace" | "remove" | "new";
  value: string;
  /** The saved value's hint ("sk••••••"): set for variables saved before. */
  preview?: string;
}

/**
 * Environment variables as rows. Saved values never come back to the
 * browser: a saved variable shows its hint and can be kept, replaced or
 * removed; new ones take a name and a value.
 */
export function EnvEditor({
  saved = [],
  initial,
  errors,
}: {
  saved?: { key: string; preview: string }[];
  initial?: Omit<EnvRowState, "uid">[];
  errors?: string[];
}) {
  const next = useRef(0);
  const make = (row: Omit<EnvRowState, "uid">): EnvRowState => ({ ...row, uid: next.current++ });
  const [rows, setRows] = useState<EnvRowState[]>(() => {
    const start: Omit<EnvRowState, "uid">[] =
      initial ??
      [...saved]
        .sort((a, b) => a.key.localeCompare(b.key))
        .map((s) => ({ key: s.key, mode: "keep" as const, value: "", preview: s.preview }));
    // A form with no variables starts with an empty row: it works without scripts too.
    const empty: Omit<EnvRowState, "uid"> = { key: "", mode: "new", value: "" };
    return (start.length > 0 ? start : [empty]).map(make);
  });
  const update = (uid: number, change: Partial<EnvRowState>) =>
    setRows((all) => all.map((r) => (r.uid === uid ? { ...r, ...change } : r)));
  const error = errors?.[0];
  return (
    <div className="env" aria-describedby={error ? "env-error" : undefined}>
      <div className="env-head" aria-hidden="true">
        <span>Name</span>
        <span>Value</span>
      </div>
      <ul className="env-rows">
        {rows.map((row, i) => {
          const n = i + 1;
          const field = (part: string) => `env.${i}.${part}`;
          return (
            <li key={row.uid} className="env-row">
              {row.preview !== undefined ? (
                <>
                  <input type="hidden" name={field("key")} value={row.key} />
                  <code className="env-key">{row.key}</code>
                  <div className="env-value">
                    {row.mode === "replace" ? (
                      <>
                        <label className="visually-hidden" htmlFor={`env-${row.uid}-value`}>
                          New value for {row.key}
                        </label>
                        <input
                          id={`env-${row.uid}-value`}
                          name={field("value")}
                          value={row.value}
                          onChange={(e) => update(row.uid, { value: e.target.value })}
                          autoComplete="off"
                          spellCheck={false}
                          placeholder="New value"
                        />
                      </>
                    ) : (
                      <span
                        className={row.mode === "remove" ? "env-preview removed" : "env-preview"}
                      >
                        {row.mode === "remove" ? "Removed when you save" : row.preview}
                      </span>
                    )}
                  </div>
                  <div className="env-action">
                    <label className="visually-hidden" htmlFor={`env-${row.uid}-mode`}>
                      What to do with {row.key}
                    </label>
                    <select
                      id={`env-${row.uid}-mode`}
                      name={field("mode")}
                      value={row.mode}
                      onChange={(e) =>
                        update(row.uid, { mode: e.target.value as EnvRowState["mode"] })
                      }
                    >
                      <option value="keep">Keep</option>
                      <option value="replace">Replace</option>
                      <option value="remove">Remove</option>
                    </select>
                  </div>
                </>
              ) : (
                <>
                  <div className="env-key">
                    <label className="visually-hidden" htmlFor={`env-${row.uid}-key`}>
                      Name of variable {n}
                    </label>
                    <input
                      id={`env-${row.uid}-key`}
                      name={field("key")}
                      value={row.key}
                      onChange={(e) => update(row.uid, { key: e.target.value })}
                      autoComplete="off"
                      autoCapitalize="characters"
                      spellCheck={false}
                      placeholder="NAME"
                    />
                  </div>
                  <div className="env-value">
                    <label className="visually-hidden" htmlFor={`env-${row.uid}-value`}>
                      Value of variable {n}
                    </label>
                    <input
                      id={`env-${row.uid}-value`}
                      name={field("value")}
                      value={row.value}
                      onChange={(e) => update(row.uid, { value: e.target.value })}
                      autoComplete="off"
                      spellCheck={false}
                      placeholder="value"
                    />
                  </div>
                  <div className="env-action">
                    <button
                      type="button"
                      className="button small"
                      onClick={() => setRows((all) => all.filter((r) => r.uid !== row.uid))}
                    >
                      Remove<span className="visually-hidden"> variable {row.key || n}</span>
                    </button>
                  </div>
                </>
              )}
            </li>
          );
        })}
      </ul>
      {error ? <ErrorText id="env-error">{error}</ErrorText> : null}
      <button
        type="button"
        className="button small"
        onClick={() => setRows((all) => [...all, make({ key: "", mode: "new", value: "" })])}
      >
        Add variable
      </button>
    </div>
  );
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024)
    return `${(bytes / 1024 / 1024).toFixed(bytes % (1024 * 1024) ? 1 : 0)} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} bytes`;
}

/** "Syntax error in calc.py at line 3: …" → 3. */
export function syntaxErrorLine(message: string | undefined): number | undefined {
  const match = message ? / at line (\d+)\b/.exec(message.split("\n")[0] ?? "") : null;
  return match ? Number(match[1]) : undefined;
}

export type CodeMode = "editor" | "file";

/**
 * The code of a function: written in the editor or uploaded as a file. A
 * file over the server's limit is refused here, before it is sent.
 */
export function CodeSource({
  runtime,
  mode,
  onModeChange,
  code,
  onCodeChange,
  maxBytes,
  errors,
  onFile,
  editorLabel = "Code",
}: {
  runtime: RuntimeName;
  mode: CodeMode;
  onModeChange: (mode: CodeMode) => void;
  code: string;
  onCodeChange: (code: string) => void;
  maxBytes: number;
  errors?: string[];
  onFile?: (file: File) => void;
  editorLabel?: string;
}) {
  const [fileError, setFileError] = useState<string>();
  // A new answer from the server speaks for the file that was sent.
  useEffect(() => {
    if (errors) setFileError(undefined);
  }, [errors]);
  const prefix = useId();
  const error = fileError ?? errors?.[0];
  const [headline, ...detail] = (error ?? "").split("\n");
  const errorId = `${prefix}-code-error`;
  const hintId = `${prefix}-code-hint`;
  const extensions = RUNTIME_EXTENSIONS[runtime].map((e) => `.${e}`);
  return (
    <div className="code-source">
      <ChoiceField
        legend="Source"
        name="source"
        compact
        value={mode}
        onChange={(value) => {
          setFileError(undefined);
          onModeChange(value);
        }}
        options={[
          { value: "editor", label: "Write code" },
          { value: "file", label: "Upload a file" },
        ]}
      />
      {mode === "editor" ? (
        <div className="field">
          <label htmlFor={`${prefix}-code`}>{editorLabel}</label>
          <CodeEditor
            id={`${prefix}-code`}
            name="code"
            value={code}
            onChange={onCodeChange}
            language={runtime === "python" ? "python" : "javascript"}
            errorLine={syntaxErrorLine(error)}
            invalid={Boolean(error)}
            describedBy={error ? errorId : hintId}
          />
          {error ? null : (
            <p className="field-hint" id={hintId}>
              Tab indents. Press Esc, then Tab, to move on from the editor.
            </p>
          )}
        </div>
      ) : (
        <div className="field">
          <label htmlFor={`${prefix}-file`}>File</label>
          <input
            id={`${prefix}-file`}
            type="file"
            name="file"
            accept={extensions.join(",")}
            required
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? errorId : hintId}
            onChange={(e) => {
              const input = e.currentTarget;
              const file = input.files?.[0];
              const tooBig =
                file && file.size > maxBytes
                  ? `${file.name} is ${formatBytes(file.size)}: files can be at most ${formatBytes(maxBytes)}`
                  : undefined;
              // Keeps the form from sending a file the server would refuse.
              input.setCustomValidity(tooBig ?? "");
              setFileError(tooBig);
              if (file && !tooBig) onFile?.(file);
            }}
          />
          {error ? null : (
            <p className="field-hint" id={hintId}>
              A {extensions.join(" or ")} file named after the handler's module, at most{" "}
              {formatBytes(maxBytes)}.
            </p>
          )}
        </div>
      )}
      {error ? (
        <div className="code-error" id={errorId}>
          <ErrorText id={`${errorId}-text`}>{headline}</ErrorText>
          {detail.length > 0 ? <pre className="error-excerpt">{detail.join("\n")}</pre> : null}
        </div>
      ) : null}
    </div>
  );
}

/**
 * For forms that leave validation to the server (noValidate): still stops a
 * file the page has already refused (too big) from being sent.
 */
export function keepRefusedFile(event: React.FormEvent<HTMLFormElement>) {
  const refused = [
    ...event.currentTarget.querySelectorAll<HTMLInputElement>("input[type=file]"),
  ].find((input) => input.validity.customError);
  if (refused) {
    event.preventDefault();
    refused.focus();
  }
}
