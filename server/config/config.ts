import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { type Env, parseEnv } from "./env";

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
  };
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
  return secret;
}
