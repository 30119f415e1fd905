import { z } from "zod";

/**
 * The whole environment, validated once at boot. Every optional service falls
 * back to an embedded default (see DESIGN.md "Defaults and configuration"), so
 * `npm start` needs no `.env`. Code below server/ receives the parsed `Config`;
 * nothing else reads `process.env`.
 */
const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === "" ? undefined : v))
  .optional();

const boolFromEnv = z
  .enum(["1", "0", "true", "false", "yes", "no", ""])
  .optional()
  .transform((v) => v === "1" || v === "true" || v === "yes");

export const envSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().default("0.0.0.0"),
    /** Public base URL used in emailed links and OAuth callbacks. */
    BASE_URL: optionalString.pipe(z.url().optional()),
    /** Folder for embedded services and generated secrets. */
    DATA_DIR: z.string().default(".data"),

    DATABASE_URL: optionalString.pipe(z.url().optional()),
    EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),

    SESSION_SECRET: optionalString.pipe(z.string().min(32).optional()),
    SESSION_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
    /** Trust X-Forwarded-For / X-Forwarded-Proto from a reverse proxy. */
    TRUST_PROXY: boolFromEnv,

    RESEND_API_KEY: optionalString,
    RESEND_BASE_URL: optionalString.pipe(z.url().optional()),
    MAIL_FROM: z.string().default("Cloudless <no-reply@cloudless.local>"),

    GITHUB_CLIENT_ID: optionalString,
    GITHUB_CLIENT_SECRET: optionalString,
    GITHUB_AUTHORIZE_URL: z.url().default("https://github.com/login/oauth/authorize"),
    GITHUB_TOKEN_URL: z.url().default("https://github.com/login/oauth/access_token"),
    GITHUB_API_URL: z.url().default("https://api.github.com"),

    GOOGLE_CLIENT_ID: optionalString,
    GOOGLE_CLIENT_SECRET: optionalString,
    GOOGLE_AUTHORIZE_URL: z.url().default("https://accounts.google.com/o/oauth2/v2/auth"),
    GOOGLE_TOKEN_URL: z.url().default("https://oauth2.googleapis.com/token"),
    GOOGLE_USERINFO_URL: z.url().default("https://openidconnect.googleapis.com/v1/userinfo"),

    /** Requests per window for login, register, resend and reset (per IP and per email). */
    AUTH_RATE_LIMIT_PER_IP: z.coerce.number().int().min(1).default(20),
    AUTH_RATE_LIMIT_PER_EMAIL: z.coerce.number().int().min(1).default(5),
    AUTH_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).default(900),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === "production" && !env.SESSION_SECRET) {
      ctx.addIssue({
        code: "custom",
        path: ["SESSION_SECRET"],
        message: "SESSION_SECRET (32+ characters) is required when NODE_ENV=production",
      });
    }
    for (const p of ["GITHUB", "GOOGLE"] as const) {
      if (Boolean(env[`${p}_CLIENT_ID`]) !== Boolean(env[`${p}_CLIENT_SECRET`])) {
        ctx.addIssue({
          code: "custom",
          path: [`${p}_CLIENT_SECRET`],
          message: `${p}_CLIENT_ID and ${p}_CLIENT_SECRET must be set together`,
        });
      }
    }
  });

export type Env = z.infer<typeof envSchema>;

export class ConfigError extends Error {}

export function parseEnv(source: Record<string, string | undefined>): Env {
  const result = envSchema.safeParse(source);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  return result.data;
}
