import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { useRef, useState } from "react";
import { Field, FormMessage, SubmitButton, useFocusFirstInvalid } from "~/components/form";
import {
  AccessFields,
  ChoiceField,
  type CodeMode,
  CodeSource,
  EnvEditor,
  type EnvRowState,
  keepRefusedFile,
  LimitFields,
  SelectField,
  STYLE_OPTIONS,
} from "~/components/function-form";
import { RouteError } from "~/components/route-error";
import { formAction, formValues } from "~/lib/form-errors.server";
import {
  envRowsValue,
  envUpdate,
  maxCodeBytes,
  readCode,
  readEnvRows,
  readSettings,
  refuse,
} from "~/lib/functions.server";
import { requireUser } from "~/lib/guards.server";
import { isStarter, RUNTIME_LABELS, STARTERS, type StyleName } from "~/lib/starters";
import {
  LIMITS,
  RUNTIME_EXTENSIONS,
  RUNTIMES,
  type RuntimeName,
} from "../../server/functions/schemas";

export const meta: MetaFunction = () => [{ title: "New function · Cloudless" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireUser(request, context);
  return { maxBytes: maxCodeBytes(context) };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { caller } = await requireUser(request, context);
  const form = await request.formData();
  const { values, settings } = readSettings(form);
  const { runtime, source } = formValues(form, ["runtime", "source"]);
  const rows = readEnvRows(form);
  const env = envUpdate(rows);
  const code = await readCode(form);
  Object.assign(values, { runtime, source, env: envRowsValue(rows) });
  // The editor's text goes back with a refusal, so a page without scripts keeps it too.
  if (code.ok && code.text !== undefined) values.code = code.text;
  if (!env.ok || !code.ok) {
    return refuse(
      {
        ...(env.ok ? {} : { env: [env.error] }),
        ...(code.ok ? {} : { code: [code.error] }),
      },
      values,
    );
  }
  return formAction(async () => {
    const fn = await caller.functions.create({
      ...settings,
      runtime: runtime as RuntimeName,
      env: env.env,
      ...code.code,
    });
    throw redirect(`/user/functions/${fn.id}?created=1`);
  }, values);
}

function isRuntime(value: string | undefined): value is RuntimeName {
  return (RUNTIMES as readonly string[]).includes(value ?? "");
}

export default function NewFunction() {
  const { maxBytes } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const failed = answer && !answer.ok ? answer : undefined;
  const errors = failed?.fieldErrors;
  const sent = failed?.values ?? {};
  const formRef = useRef<HTMLFormElement>(null);
  useFocusFirstInvalid(formRef, failed);

  const [runtime, setRuntime] = useState<RuntimeName>(
    isRuntime(sent.runtime) ? sent.runtime : "python",
  );
  const [style, setStyle] = useState<StyleName>(sent.style === "script" ? "script" : "handler");
  const [handler, setHandler] = useState(sent.handler ?? STARTERS[runtime][style].handler);
  const handlerTouched = useRef(Boolean(sent.handler));
  const [mode, setMode] = useState<CodeMode>(sent.source === "file" ? "file" : "editor");
  const [code, setCode] = useState(sent.code ?? STARTERS[runtime][style].code);
  const [envRows] = useState(() => parseRows(sent.env));

  // Switching runtime or style swaps in the matching starter, unless the code
  // or the handler has been written by hand.
  const choose = (nextRuntime: RuntimeName, nextStyle: StyleName) => {
    const starter = STARTERS[nextRuntime][nextStyle];
    if (isStarter(code)) setCode(starter.code);
    if (!handlerTouched.current) setHandler(starter.handler);
    setRuntime(nextRuntime);
    setStyle(nextStyle);
  };
  // A chosen file names the runtime (by extension) and the handler's module.
  const onFile = (file: File) => {
    const dot = file.name.lastIndexOf(".");
    const ext = file.name.slice(dot + 1).toLowerCase();
    const fileRuntime = RUNTIMES.find((r) => RUNTIME_EXTENSIONS[r].includes(ext));
    if (fileRuntime && fileRuntime !== runtime) setRuntime(fileRuntime);
    const module = file.name.slice(0, dot);
    if (!handlerTouched.current && /^[A-Za-z_][A-Za-z0-9_]*$/.test(module)) {
      setHandler(`${module}.${handler.split(".")[1] || "handler"}`);
    }
  };

  return (
    <>
      <div className="page-header">
        <div>
          <h1>New function</h1>
          <p className="muted">
            Write it here or upload a file. It is checked for syntax errors before it is saved.
          </p>
        </div>
      </div>
      <FormMessage error={failed?.formError} />
      <Form
        method="post"
        encType="multipart/form-data"
        ref={formRef}
        className="function-form"
        noValidate
        onSubmit={keepRefusedFile}
      >
        <section className="card form-section" aria-labelledby="basics-title">
          <h2 id="basics-title">Function</h2>
          <div className="form-grid">
            <Field
              label="Name"
              name="name"
              errors={errors?.name}
              defaultValue={sent.name}
              required
              autoComplete="off"
              spellCheck={false}
              hint="Lowercase letters, digits and dashes, e.g. calc"
            />
            <Field
              label="Description"
              name="description"
              errors={errors?.description}
              defaultValue={sent.description}
              hint="Optional: what it does, for you later"
            />
          </div>
        </section>

        <section className="card form-section" aria-labelledby="code-title">
          <h2 id="code-title">Code</h2>
          <div className="form-grid">
            <SelectField
              label="Runtime"
              name="runtime"
              value={runtime}
              onChange={(e) => choose(e.target.value as RuntimeName, style)}
              errors={errors?.runtime}
            >
              {RUNTIMES.map((r) => (
                <option key={r} value={r}>
                  {RUNTIME_LABELS[r]}
                </option>
              ))}
            </SelectField>
            <Field
              label="Handler"
              name="handler"
              value={handler}
              onChange={(e) => {
                handlerTouched.current = true;
                setHandler(e.target.value);
              }}
              errors={errors?.handler}
              required
              autoComplete="off"
              autoCapitalize="off"
              spellCheck={false}
              hint={
                <span>
                  <code>module.function</code>; the file is{" "}
                  <code>{moduleFile(handler, runtime)}</code>
                </span>
              }
            />
          </div>
          <ChoiceField
            legend="Style"
            name="style"
            value={style}
            onChange={(s) => choose(runtime, s)}
            options={STYLE_OPTIONS}
            errors={errors?.style}
          />
          <CodeSource
            runtime={runtime}
            mode={mode}
            onModeChange={setMode}
            code={code}
            onCodeChange={setCode}
            maxBytes={maxBytes}
            errors={errors?.code ?? errors?.codeBase64 ?? errors?.fileName}
            onFile={onFile}
          />
        </section>

        <section className="card form-section" aria-labelledby="limits-title">
          <h2 id="limits-title">Resources</h2>
          <LimitFields
            errors={errors}
            defaults={{
              memoryMb: sent.memoryMb ?? LIMITS.memoryMb.default,
              timeoutSeconds: sent.timeoutSeconds ?? LIMITS.timeoutSeconds.default,
              maxConcurrency: sent.maxConcurrency ?? LIMITS.maxConcurrency.default,
              minWarm: sent.minWarm ?? LIMITS.minWarm.default,
            }}
          />
        </section>

        <section className="card form-section" aria-labelledby="access-title">
          <h2 id="access-title">Access</h2>
          <AccessFields
            defaults={{
              isPublic: sent.isPublic === "on",
              networkEnabled: sent.networkEnabled === "on",
            }}
          />
        </section>

        <section className="card form-section" aria-labelledby="env-title">
          <h2 id="env-title">Environment variables</h2>
          <p className="muted">
            Given to the function at run time. Once saved, values are never shown in full again.
          </p>
          <EnvEditor initial={envRows} errors={errors?.env} />
        </section>

        <div className="button-row form-actions">
          <SubmitButton pendingText="Checking and creating…">Create function</SubmitButton>
          <Link className="button" to="/user/functions">
            Cancel
          </Link>
        </div>
      </Form>
    </>
  );
}

function moduleFile(handler: string, runtime: RuntimeName): string {
  const module = handler.split(".")[0] || "module";
  return `${module}.${RUNTIME_EXTENSIONS[runtime][0]}`;
}

function parseRows(json: string | undefined): Omit<EnvRowState, "uid">[] | undefined {
  if (!json) return undefined;
  try {
    const rows = JSON.parse(json) as Omit<EnvRowState, "uid">[];
    return Array.isArray(rows) ? rows : undefined;
  } catch {
    return undefined;
  }
}

export function ErrorBoundary() {
  return <RouteError title="New function" what="this page" />;
}
