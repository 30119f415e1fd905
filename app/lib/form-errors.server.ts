import { data } from "@remix-run/node";
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { ZodError } from "zod";
import { fieldErrorsOf } from "../../server/field-errors";

export interface ActionFailure {
  ok: false;
  formError?: string;
  fieldErrors?: Partial<Record<string, string[]>>;
  /** Values to put back in the form (never passwords). */
  values?: Record<string, string>;
}

/**
 * Field errors by form field. A procedure whose input nests the form's fields
 * (`{ id, settings: { memoryMb } }`) is named by `nestedUnder` ("settings"),
 * so its errors land on `memoryMb` rather than all on "settings".
 */
function formFieldErrors(cause: unknown, nestedUnder?: string) {
  if (!nestedUnder || !(cause instanceof ZodError)) return fieldErrorsOf(cause);
  const errors: Partial<Record<string, string[]>> = {};
  for (const issue of cause.issues) {
    const path = issue.path[0] === nestedUnder ? issue.path.slice(1) : issue.path;
    if (path.length === 0) continue;
    const key = String(path[0]);
    errors[key] = [...(errors[key] ?? []), issue.message];
  }
  return Object.keys(errors).length > 0 ? errors : undefined;
}

/**
 * Runs a procedure for a form action and turns its expected failures (bad
 * input, refusals, rate limits) into a typed answer with the right status,
 * so the form can show them next to the fields.
 */
export async function formAction<T>(
  work: () => Promise<T>,
  values: Record<string, string> = {},
  options: { nestedUnder?: string } = {},
): Promise<T | ReturnType<typeof data<ActionFailure>>> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof TRPCError)) throw error;
    const status = getHTTPStatusCodeFromError(error);
    const fieldErrors = formFieldErrors(error.cause, options.nestedUnder);
    if (fieldErrors) return data<ActionFailure>({ ok: false, fieldErrors, values }, { status });
    // Unexpected failures go to the error boundary; deliberate refusals (even 503) are shown.
    if (error.code === "INTERNAL_SERVER_ERROR") throw error;
    return data<ActionFailure>({ ok: false, formError: error.message, values }, { status });
  }
}

/** Form fields as strings (files and repeated keys ignored). */
export function formValues<K extends string>(
  form: FormData,
  keys: readonly K[],
): Record<K, string> {
  const values = {} as Record<K, string>;
  for (const key of keys) {
    const value = form.get(key);
    values[key] = typeof value === "string" ? value : "";
  }
  return values;
}
