import { ZodError, z } from "zod";

/**
 * Field errors keyed by field, for forms and API clients: from zod input
 * validation, or from a service refusal that names its field (`error.field`).
 * Pure, so the browser-facing code can share it.
 */
export function fieldErrorsOf(cause: unknown): Partial<Record<string, string[]>> | undefined {
  if (cause instanceof ZodError) return z.flattenError(cause).fieldErrors;
  if (cause instanceof Error && "field" in cause && typeof cause.field === "string") {
    return { [cause.field]: [cause.message] };
  }
  return undefined;
}
