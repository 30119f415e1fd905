import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { RunnerConfig } from "../../runners/config";
import type { EngineName } from "../../runners/types";
import { ConfigError, type Env, parseEnv } from "./env";

export interface OAuthProviderConfig {
  clientId: string;
  clientSecret: string;
  authorizeUrl: string;
  tokenUrl: string;
}

/** The resolved configuration every service receives. */
export interface Config {
  env: Env["NODE_ENV"];
  isProduction: boolean;
  port: number;
  host: string;
  /** Absolute folder for embedded services and generated secrets. */
  dataDir: string;
  /** Set when configured; otherwise links are built from each request's origin. */
  baseUrl?: string;
  databaseUrl?: string;
  embeddedPgPort: number;
  sessionSecret: string;
  sessionTtlDays: number;
  trustProxy: boolean;
  mail: { resendApiKey?: string; resendBaseUrl?: string; from: string };
  oauth: {
    github?: OAuthProviderConfig & { apiUrl: string };
    google?: OAuthProviderConfig & { userInfoUrl: string };
  };
  rateLimit: { perIp: number; perEmail: number; windowSeconds: number };
  /** Configured S3, or undefined for the embedded server. */
  s3?: {
    endpoint?: string;
    region: string;
    accessKeyId?: string;
    secretAccessKey?: string;
    forcePathStyle: boolean;
  };
  s3Bucket: string;
  functions: { maxCodeBytes: number; pythonBin: string; nodeBin: string };
  engines: EngineName[];
  runners: RunnerConfig;
  invocations: { maxBodyBytes: number; recordBufferBytes: number };
  async: { concurrency: number; maxQueuedPerUser: number; runGraceSeconds: number };
  /** This process as a node of a cluster on one database (server/cluster). */
  node: { id: string; address: string; heartbeatMs: number };
  metricsToken?: string;
}

/** Reads and validates the environment once; generates the session secret when none is set. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const env = parseEnv(source);
  const dataDir = path.resolve(env.DATA_DIR);
  return {
    env: env.NODE_ENV,
    isProduction: env.NODE_ENV === "production",
    port: env.PORT,
    host: env.HOST,
    dataDir,
    baseUrl: env.BASE_URL?.replace(/\/+$/, ""),
    databaseUrl: env.DATABASE_URL,
    embeddedPgPort: env.EMBEDDED_PG_PORT,
    sessionSecret: env.SESSION_SECRET ?? readOrCreateSecret(path.join(dataDir, "session-secret")),
    sessionTtlDays: env.SESSION_TTL_DAYS,
    trustProxy: env.TRUST_PROXY,
    mail: {
      resendApiKey: env.RESEND_API_KEY,
      resendBaseUrl: env.RESEND_BASE_URL,
      from: env.MAIL_FROM,
    },
    oauth: {
      github:
        env.GITHUB_CLIENT_ID && env.GITHUB_CLIENT_SECRET
          ? {
              clientId: env.GITHUB_CLIENT_ID,
              clientSecret: env.GITHUB_CLIENT_SECRET,
              authorizeUrl: env.GITHUB_AUTHORIZE_URL,
              tokenUrl: env.GITHUB_TOKEN_URL,
              apiUrl: env.GITHUB_API_URL.replace(/\/+$/, ""),
            }
          : undefined,
      google:
        env.GOOGLE_CLIENT_ID && env.GOOGLE_CLIENT_SECRET
          ? {
              clientId: env.GOOGLE_CLIENT_ID,
              clientSecret: env.GOOGLE_CLIENT_SECRET,
              authorizeUrl: env.GOOGLE_AUTHORIZE_URL,
              tokenUrl: env.GOOGLE_TOKEN_URL,
              userInfoUrl: env.GOOGLE_USERINFO_URL,
            }
          : undefined,
    },
    rateLimit: {
      perIp: env.AUTH_RATE_LIMIT_PER_IP,
      perEmail: env.AUTH_RATE_LIMIT_PER_EMAIL,
      windowSeconds: env.AUTH_RATE_LIMIT_WINDOW_SECONDS,
    },
    s3:
      env.S3_ENDPOINT || env.AWS_ACCESS_KEY_ID
        ? {
            endpoint: env.S3_ENDPOINT,
            region: env.S3_REGION ?? env.AWS_REGION ?? "us-east-1",
            accessKeyId: env.AWS_ACCESS_KEY_ID,
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
            forcePathStyle: env.S3_FORCE_PATH_STYLE
              ? env.S3_FORCE_PATH_STYLE === "1" || env.S3_FORCE_PATH_STYLE === "true"
              : Boolean(env.S3_ENDPOINT),
          }
        : undefined,
    s3Bucket: env.S3_BUCKET,
    functions: {
      maxCodeBytes: env.MAX_CODE_BYTES,
      pythonBin: env.PYTHON_BIN,
      nodeBin: env.NODE_BIN ?? process.execPath,
    },
    engines: parseEngines(env.ENGINES),
    runners: {
      dataDir,
      // Several installations may share one Docker engine: each reaps only its own.
      ownerId: createHash("sha256")
        .update(`${os.hostname()}:${dataDir}`)
        .digest("hex")
        .slice(0, 16),
      interpreters: { python: env.PYTHON_BIN, node: env.NODE_BIN ?? process.execPath },
      customImages: { python: env.RUNTIME_IMAGE_PYTHON, node: env.RUNTIME_IMAGE_NODE },
      iptables: env.IPTABLES,
      docker: {
        host: env.DOCKER_HOST,
        tls: env.DOCKER_TLS_VERIFY
          ? { certPath: path.resolve(env.DOCKER_CERT_PATH ?? path.join(os.homedir(), ".docker")) }
          : undefined,
        agentTransport: env.DOCKER_AGENT_TRANSPORT,
        cpus: env.DOCKER_CPUS,
        pidsLimit: env.DOCKER_PIDS_LIMIT,
        tmpMb: env.DOCKER_TMP_MB,
      },
      nanos: {
        kernel: env.NANOS_KERNEL && path.resolve(env.NANOS_KERNEL),
        boot: env.NANOS_BOOT && path.resolve(env.NANOS_BOOT),
        mkfs: env.NANOS_MKFS && path.resolve(env.NANOS_MKFS),
        ops: env.NANOS_OPS && path.resolve(env.NANOS_OPS),
        opsDir: path.join(env.OPS_HOME ?? os.homedir(), ".ops"),
        buildDir: env.NANOS_DIR ? path.resolve(env.NANOS_DIR) : sharedNanosDir(),
        qemu: env.NANOS_QEMU,
        accel: env.NANOS_ACCEL,
        cacheDir: path.resolve(env.NANOS_CACHE_DIR ?? path.join(dataDir, "nanos")),
        ports: (([min, max]) => ({ min: min!, max: max! }))(env.NANOS_PORTS.split("-").map(Number)),
        snapshots: env.NANOS_SNAPSHOTS === "on",
      },
      pools: {
        genericPerRuntime: env.POOL_GENERIC_PER_RUNTIME,
        genericMemoryMb: env.POOL_GENERIC_MEMORY_MB,
        idleTtlMs: env.POOL_IDLE_TTL_SECONDS * 1000,
        acquireTimeoutMs: env.POOL_QUEUE_TIMEOUT_MS,
        maxInstances: env.HOST_MAX_INSTANCES,
        maxMemoryMb: env.HOST_MAX_MEMORY_MB ?? Math.floor((os.totalmem() / 1024 / 1024) * 0.75),
      },
      outputLimitBytes: env.OUTPUT_LIMIT_BYTES,
      bootTimeoutMs: env.BOOT_TIMEOUT_MS,
    },
    invocations: {
      maxBodyBytes: env.INVOKE_MAX_BODY_BYTES,
      recordBufferBytes: env.RECORDS_BUFFER_MB * 1024 * 1024,
    },
    async: {
      concurrency: env.ASYNC_CONCURRENCY,
      maxQueuedPerUser: env.ASYNC_MAX_QUEUED_PER_USER,
      runGraceSeconds: env.ASYNC_RUN_GRACE_SECONDS,
    },
    node: {
      id: env.NODE_ID ?? `${os.hostname()}:${env.PORT}`,
      address: env.NODE_ADDRESS ?? `${os.hostname()}:${env.PORT}`,
      heartbeatMs: env.NODE_HEARTBEAT_SECONDS * 1000,
    },
    metricsToken: env.METRICS_TOKEN,
  };
}

/**
 * `../shared/nanos` beside the project (a Nanos build kept outside the
 * repository, as on the development and CI machines), when it holds a kernel.
 */
export function sharedNanosDir(): string | undefined {
  const dir = fileURLToPath(new URL("../../../shared/nanos", import.meta.url));
  return fs.existsSync(path.join(dir, "kernel.img")) ? dir : undefined;
}

function parseEngines(value: string): EngineName[] {
  const names = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of names) {
    if (name !== "docker" && name !== "nanos") {
      throw new ConfigError(
        `Invalid configuration:\n  ENGINES: unknown engine "${name}" (use docker, nanos)`,
      );
    }
  }
  return names as EngineName[];
}

/** A secret kept in a 0600 file so sessions survive restarts without configuration. */
function readOrCreateSecret(file: string): string {
  try {
    const existing = fs.readFileSync(file, "utf8").trim();
    if (existing.length >= 32) return existing;
  } catch {
    // not created yet
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const secret = randomBytes(32).toString("base64url");
  fs.writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  // `mode` applies only when the file is created; a replaced file keeps its old mode.
  fs.chmodSync(file, 0o600);
  return secret;
}
