import { data } from "@remix-run/node";
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { fieldErrorsOf } from "../../server/field-errors";

export interface ActionFailure {
  ok: false;
  formError?: string;
  fieldErrors?: Partial<Record<string, string[]>>;
  /** Values to put back in the form (never passwords). */
  values?: Record<string, string>;
}

/**
 * Runs a procedure for a form action and turns its expected failures (bad
 * input, refusals, rate limits) into a typed answer with the right status,
 * so the form can show them next to the fields.
 */
export async function formAction<T>(
  work: () => Promise<T>,
  values: Record<string, string> = {},
): Promise<T | ReturnType<typeof data<ActionFailure>>> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof TRPCError)) throw error;
    const status = getHTTPStatusCodeFromError(error);
    const fieldErrors = fieldErrorsOf(error.cause);
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
