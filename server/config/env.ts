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
    BASE_URL: optionalString.pipe(
      // It becomes the origin of emailed links and the trusted Origin for CSRF checks.
      z.url({ protocol: /^https?$/, error: "Use an http:// or https:// URL" }).optional(),
    ),
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

    /** Object storage for function code; unset = embedded S3-compatible server in DATA_DIR/s3. */
    S3_ENDPOINT: optionalString.pipe(z.url().optional()),
    S3_BUCKET: z.string().trim().min(3).max(63).default("cloudless-code"),
    S3_REGION: optionalString,
    AWS_REGION: optionalString,
    AWS_ACCESS_KEY_ID: optionalString,
    AWS_SECRET_ACCESS_KEY: optionalString,
    /** Path-style URLs (bucket in the path), as most S3-compatible servers want. */
    S3_FORCE_PATH_STYLE: z.enum(["1", "0", "true", "false"]).optional(),

    /** Largest accepted function source file, in bytes. */
    MAX_CODE_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(50 * 1024 * 1024)
      .default(1024 * 1024),
    /** Interpreters used for upload syntax checks (and, later, runtime images). */
    PYTHON_BIN: z.string().default("/usr/bin/python3"),
    NODE_BIN: z.string().optional(),

    /** Engines to run, comma-separated (docker, nanos); empty disables invocation. */
    ENGINES: z.string().default("docker,nanos"),
    /** The iptables command for network isolation (network-guard.ts); e.g. iptables-legacy. */
    IPTABLES: z.string().min(1).default("iptables"),
    /** The Docker engine, as the Docker CLI reads it: unix:///path or tcp://host:port. */
    DOCKER_HOST: optionalString.pipe(
      z
        .string()
        .regex(/^(unix|tcp):\/\//, "Use unix:///path/to/docker.sock or tcp://host:port")
        .optional(),
    ),
    /** TLS to the engine, verifying its certificate (as the Docker CLI's DOCKER_TLS_VERIFY). */
    DOCKER_TLS_VERIFY: boolFromEnv,
    /** ca.pem, cert.pem and key.pem for DOCKER_TLS_VERIFY; unset = ~/.docker. */
    DOCKER_CERT_PATH: optionalString,
    /** How the agent in a container is reached: auto (socket for unix://, exec for tcp://), socket, exec. */
    DOCKER_AGENT_TRANSPORT: z.enum(["auto", "socket", "exec"]).default("auto"),
    DOCKER_CPUS: z.coerce.number().min(0.1).max(64).default(1),
    DOCKER_PIDS_LIMIT: z.coerce.number().int().min(8).max(100_000).default(64),
    DOCKER_TMP_MB: z.coerce.number().int().min(1).max(4096).default(64),
    /** An image of your own per runtime (it must contain python3 / node). */
    RUNTIME_IMAGE_PYTHON: optionalString,
    RUNTIME_IMAGE_NODE: optionalString,
    /** A Nanos build's kernel, boot image and mkfs; unset = the newest ops release in ~/.ops. */
    NANOS_KERNEL: optionalString,
    NANOS_BOOT: optionalString,
    NANOS_MKFS: optionalString,
    /** The ops binary (images are built with it when there is no mkfs); unset = ~/.ops/bin/ops or PATH. */
    NANOS_OPS: optionalString,
    /** Parent of ops's .ops folder, as ops reads it. */
    OPS_HOME: optionalString,
    /**
     * A folder holding a Nanos build's kernel.img, boot.img and mkfs, used when
     * NANOS_KERNEL and ~/.ops give nothing; unset = ../shared/nanos beside the
     * project, when that folder exists.
     */
    NANOS_DIR: optionalString,
    NANOS_QEMU: z.string().trim().min(1).default("qemu-system-x86_64"),
    NANOS_ACCEL: z.enum(["auto", "kvm", "tcg"]).default("auto"),
    /** Nanos images and saved VM states; unset = DATA_DIR/nanos. */
    NANOS_CACHE_DIR: optionalString,
    /** Loopback ports for the VMs' agents, "min-max". */
    NANOS_PORTS: z
      .string()
      .regex(/^\d+-\d+$/, "Use a range like 20000-29999")
      .refine((v) => {
        const [min, max] = v.split("-").map(Number);
        return min! >= 1024 && max! <= 65535 && min! <= max!;
      }, "Use ports 1024-65535, the smaller first")
      .default("20000-29999"),
    /** Restore Nanos VMs from a saved generic VM (on), or always boot (off). */
    NANOS_SNAPSHOTS: z.enum(["on", "off"]).default("on"),
    POOL_GENERIC_PER_RUNTIME: z.coerce.number().int().min(0).max(64).default(2),
    POOL_GENERIC_MEMORY_MB: z.coerce.number().int().min(64).max(2048).default(128),
    POOL_IDLE_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
    /** How long a call over the function's concurrency waits before 429. */
    POOL_QUEUE_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(2000),
    HOST_MAX_INSTANCES: z.coerce.number().int().min(1).max(10_000).default(64),
    /** Memory all instances may use together; default: three quarters of the host. */
    HOST_MAX_MEMORY_MB: z.coerce.number().int().min(64).optional(),
    OUTPUT_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    BOOT_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
    INVOKE_MAX_BODY_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    /**
     * Invocation records waiting for the database (memory and the journal in
     * DATA_DIR/records) may take this much; past it, records are dropped and counted.
     */
    RECORDS_BUFFER_MB: z.coerce.number().int().min(1).max(4096).default(128),

    /** Async calls this server runs at once (over all functions; each function's concurrency still applies). */
    ASYNC_CONCURRENCY: z.coerce.number().int().min(0).max(1024).default(16),
    /** Queued and running async calls a user may have; more answer 429. */
    ASYNC_MAX_QUEUED_PER_USER: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
    /** How long past its timeout a job whose server died stays claimed before another run takes it. */
    ASYNC_RUN_GRACE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),

    /** This node's name in the node registry (stable across its restarts); default host name:PORT. */
    NODE_ID: optionalString,
    /** Where the balancer reaches this node; default host name:PORT. */
    NODE_ADDRESS: optionalString,
    /** How often this node writes its heartbeat; three missed ones show it as down. */
    NODE_HEARTBEAT_SECONDS: z.coerce.number().int().min(1).max(300).default(5),

    /** Bearer token for GET /metrics (Prometheus); unset = the endpoint is off. */
    METRICS_TOKEN: optionalString.pipe(
      z.string().min(16, "METRICS_TOKEN needs 16+ characters").optional(),
    ),

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
    // Without it, emailed links are built from the request's Host header, which
    // anyone can set: a forged Host would mail a victim a reset link to the
    // attacker's site (password-reset poisoning).
    if (env.NODE_ENV === "production" && !env.BASE_URL) {
      ctx.addIssue({
        code: "custom",
        path: ["BASE_URL"],
        message:
          "BASE_URL (the public URL, e.g. https://cloudless.example.com) is required when NODE_ENV=production",
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
