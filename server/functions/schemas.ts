import { z } from "zod";

/**
 * Function settings validation, shared by the browser forms, the tRPC
 * procedures, the SDK and the CLI (browser-safe: no server imports).
 */
export const RUNTIMES = ["python", "node"] as const;
export const STYLES = ["script", "handler"] as const;
export type RuntimeName = (typeof RUNTIMES)[number];

/** File extensions accepted per runtime; the first is the default for stored modules. */
export const RUNTIME_EXTENSIONS: Record<RuntimeName, readonly string[]> = {
  python: ["py"],
  node: ["js", "mjs", "cjs"],
};

export const LIMITS = {
  memoryMb: { min: 64, max: 2048, default: 128 },
  timeoutSeconds: { min: 1, max: 300, default: 30 },
  maxConcurrency: { min: 1, max: 64, default: 4 },
  minWarm: { min: 0, max: 16, default: 0 },
  asyncRetries: { min: 0, max: 5, default: 2 },
  envVars: 50,
  envValueChars: 4096,
} as const;

export const functionNameSchema = z
  .string({ error: "Enter a name" })
  .trim()
  .min(1, "Enter a name")
  .max(63, "Names are at most 63 characters")
  .regex(
    /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/,
    "Use lowercase letters, digits and dashes, starting and ending with a letter or digit",
  );

const identifier = "[A-Za-z_][A-Za-z0-9_]{0,63}";
/** `<module>.<function>`: two identifiers, so no path can be smuggled into a file name. */
export const handlerSchema = z
  .string({ error: "Enter a handler" })
  .trim()
  .regex(
    new RegExp(`^${identifier}\\.${identifier}$`),
    "Use <module>.<function>, e.g. calc.calculator (letters, digits and _ only)",
  );

export const runtimeSchema = z.enum(RUNTIMES, { error: "Choose python or node" });
export const styleSchema = z.enum(STYLES, { error: "Choose script or handler" });

function intIn(name: string, { min, max }: { min: number; max: number }) {
  // Typed input (numbers, or the strings forms send), so the SDK's callers get
  // a type error for anything else rather than zod's default `unknown`.
  return z.coerce
    .number<number | string>({ error: `${name} must be a number` })
    .int(`${name} must be a whole number`)
    .min(min, `${name} must be between ${min} and ${max}`)
    .max(max, `${name} must be between ${min} and ${max}`);
}

export const envKeySchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "Variable names use letters, digits and _");

/** New values as strings; `null` keeps the saved value (the client never sees it in full). */
export const envUpdateSchema = z
  .record(envKeySchema, z.string().max(LIMITS.envValueChars).nullable())
  .refine(
    (env) => Object.keys(env).length <= LIMITS.envVars,
    `At most ${LIMITS.envVars} variables`,
  );

/**
 * The settings, each without a default: `updateSettingsSchema` is built from
 * these, so a partial update only carries the fields it names (zod 4 applies
 * `.default()` even inside `.partial()`, which would silently reset the rest).
 */
const settingsFields = {
  description: z.string().trim().max(500, "At most 500 characters"),
  style: styleSchema,
  memoryMb: intIn("Memory", LIMITS.memoryMb),
  timeoutSeconds: intIn("Timeout", LIMITS.timeoutSeconds),
  maxConcurrency: intIn("Concurrency", LIMITS.maxConcurrency),
  minWarm: intIn("Minimum warm instances", LIMITS.minWarm),
  isPublic: z.boolean(),
  networkEnabled: z.boolean(),
  /** Async calls: retries after a crash, timeout, OOM or an unavailable engine. */
  asyncRetries: intIn("Retries", LIMITS.asyncRetries),
  /** Async calls: retry a non-zero exit of the code too. */
  retryOnError: z.boolean(),
  env: envUpdateSchema,
};

export const functionSettingsSchema = z.object({
  description: settingsFields.description.default(""),
  style: settingsFields.style.default("handler"),
  memoryMb: settingsFields.memoryMb.default(LIMITS.memoryMb.default),
  timeoutSeconds: settingsFields.timeoutSeconds.default(LIMITS.timeoutSeconds.default),
  maxConcurrency: settingsFields.maxConcurrency.default(LIMITS.maxConcurrency.default),
  minWarm: settingsFields.minWarm.default(LIMITS.minWarm.default),
  isPublic: settingsFields.isPublic.default(false),
  networkEnabled: settingsFields.networkEnabled.default(false),
  asyncRetries: settingsFields.asyncRetries.default(LIMITS.asyncRetries.default),
  retryOnError: settingsFields.retryOnError.default(false),
  env: settingsFields.env.default({}),
});

/** Source as base64, so the server sees the exact bytes and can refuse binary or mis-encoded files. */
export const codeUploadSchema = z.object({
  codeBase64: z
    .string()
    .max(70 * 1024 * 1024, "File too large")
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, "Not base64"),
  fileName: z.string().max(255).optional(),
});

export const createFunctionSchema = functionSettingsSchema
  .extend({
    name: functionNameSchema,
    runtime: runtimeSchema,
    handler: handlerSchema,
  })
  .extend(codeUploadSchema.shape)
  .refine((f) => f.minWarm <= f.maxConcurrency, {
    path: ["minWarm"],
    message: "Minimum warm instances cannot exceed the concurrency",
  });

/** Only the fields given change; the minWarm ≤ concurrency rule is checked against the saved values. */
export const updateSettingsSchema = z.object(settingsFields).partial().extend({
  handler: handlerSchema.optional(),
  name: functionNameSchema.optional(),
});

export type CreateFunctionInput = z.infer<typeof createFunctionSchema>;
export type UpdateSettingsInput = z.infer<typeof updateSettingsSchema>;
