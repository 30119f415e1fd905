import { Buffer } from "node:buffer";
import { type AppLoadContext, data } from "@remix-run/node";
import { TRPCError } from "@trpc/server";
import type { ActionFailure } from "./form-errors.server";
import { formValues } from "./form-errors.server";

/**
 * Reading the function forms (new function, settings, new version) into the
 * procedures' inputs. Values stay strings where the schemas coerce them, so
 * the procedures' own validation gives every message.
 */

const SETTING_KEYS = [
  "name",
  "description",
  "handler",
  "style",
  "memoryMb",
  "timeoutSeconds",
  "maxConcurrency",
  "minWarm",
  "asyncRetries",
] as const;

export type EnvMode = "keep" | "replace" | "remove" | "new";
/** One row of the environment editor: a saved variable (keep / replace / remove) or a new one. */
export interface EnvRow {
  key: string;
  mode: EnvMode;
  value: string;
}

export function readSettings(form: FormData) {
  const v = formValues(form, SETTING_KEYS);
  const isPublic = form.get("isPublic") === "on";
  const networkEnabled = form.get("networkEnabled") === "on";
  return {
    // Put back in the form after a refusal; env values are not sent back.
    values: {
      ...v,
      isPublic: isPublic ? "on" : "",
      networkEnabled: networkEnabled ? "on" : "",
      retryOnError: form.get("retryOnError") === "on" ? "on" : "",
    } as Record<string, string>,
    settings: {
      name: v.name,
      description: v.description,
      handler: v.handler,
      style: v.style as "script" | "handler",
      memoryMb: v.memoryMb,
      timeoutSeconds: v.timeoutSeconds,
      maxConcurrency: v.maxConcurrency,
      minWarm: v.minWarm,
      isPublic,
      networkEnabled,
      // Only the settings form has the async fields; the new-function form keeps the defaults.
      ...(form.has("asyncRetries")
        ? { asyncRetries: v.asyncRetries, retryOnError: form.get("retryOnError") === "on" }
        : {}),
    },
  };
}

/** The environment rows, in form order (`env.<i>.key`, `env.<i>.mode`, `env.<i>.value`). */
export function readEnvRows(form: FormData): EnvRow[] {
  const rows = new Map<number, EnvRow>();
  for (const [name, value] of form) {
    const match = /^env\.(\d{1,3})\.(key|mode|value)$/.exec(name);
    if (!match || typeof value !== "string") continue;
    const index = Number(match[1]);
    const row = rows.get(index) ?? { key: "", mode: "new", value: "" };
    if (match[2] === "key") row.key = value.trim();
    else if (match[2] === "value") row.value = value;
    else if (["keep", "replace", "remove"].includes(value)) row.mode = value as EnvMode;
    rows.set(index, row);
  }
  return [...rows.entries()].sort((a, b) => a[0] - b[0]).map(([, row]) => row);
}

/**
 * The env update the procedures take: a string sets, null keeps the saved
 * value, a key left out is removed. Or the message for a row that makes no sense.
 */
export function envUpdate(
  rows: EnvRow[],
): { ok: true; env: Record<string, string | null> } | { ok: false; error: string } {
  const env: Record<string, string | null> = {};
  for (const row of rows) {
    if (row.mode === "remove") continue;
    if (row.mode === "new" && !row.key) {
      if (row.value)
        return { ok: false, error: "Give each value a variable name, or clear the row" };
      continue;
    }
    if (Object.hasOwn(env, row.key)) return { ok: false, error: `${row.key} is listed twice` };
    env[row.key] = row.mode === "keep" ? null : row.value;
  }
  return { ok: true, env };
}

/** Rows to put back after a refusal: names and choices, never the values typed. */
export function envRowsValue(rows: EnvRow[]): string {
  return JSON.stringify(rows.map((r) => ({ ...r, value: "" })));
}

/**
 * The code of a form: the uploaded file's bytes (source=file) or the
 * editor's text (source=editor), as base64. Editor text comes with the CRLF
 * line ends forms send; it is stored with the LF it was typed with.
 */
export async function readCode(
  form: FormData,
): Promise<
  | { ok: true; code: { codeBase64: string; fileName?: string }; text?: string }
  | { ok: false; error: string }
> {
  if (form.get("source") === "file") {
    const file = form.get("file");
    if (!file || typeof file === "string" || (file.size === 0 && !file.name)) {
      return { ok: false, error: "Choose a file to upload" };
    }
    const bytes = Buffer.from(await file.arrayBuffer());
    return { ok: true, code: { codeBase64: bytes.toString("base64"), fileName: file.name } };
  }
  const code = form.get("code");
  const text = typeof code === "string" ? code.replace(/\r\n?/g, "\n") : "";
  if (!text.trim()) return { ok: false, error: "Write the function's code, or upload a file" };
  return { ok: true, code: { codeBase64: Buffer.from(text, "utf8").toString("base64") }, text };
}

/** A refusal found before any procedure ran, shaped like formAction's. */
export function refuse(fieldErrors: Record<string, string[]>, values: Record<string, string>) {
  return data<ActionFailure>({ ok: false, fieldErrors, values }, { status: 400 });
}

/** A function that is not there, or not this user's, is a 404 page (the same for both). */
export async function orNotFound<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (
      error instanceof TRPCError &&
      (error.code === "NOT_FOUND" || error.code === "BAD_REQUEST")
    ) {
      throw new Response("There is no such function in your account.", {
        status: 404,
        statusText: "Not Found",
      });
    }
    throw error;
  }
}

/** The largest code file the server takes (MAX_CODE_BYTES), for the forms to check first. */
export function maxCodeBytes(context: AppLoadContext): number {
  return context.services.config.functions.maxCodeBytes;
}

/**
 * Where the function is called, per engine, with the engine's state: links
 * use BASE_URL when it is configured (behind a proxy), else this request's origin.
 */
export function invocationUrls(
  request: Request,
  context: AppLoadContext,
  fn: { userId: string; handler: string },
) {
  const origin = siteOrigin(request, context);
  return (["docker", "nanos"] as const).map((engine) => {
    const status = context.services.runners.engineStatus(engine);
    return {
      engine,
      url: `${origin}/api/function/${fn.userId}/${fn.handler}/${engine}`,
      available: status.available,
      note: status.available ? (status.detail ?? "") : status.reason,
    };
  });
}

/** This site's address as its users reach it. */
export function siteOrigin(request: Request, context: AppLoadContext): string {
  return context.services.config.baseUrl ?? new URL(request.url).origin;
}
