import path from "node:path";
import { createSessionCookie, type SessionCookie } from "./auth/cookie";
import { AuthRateLimiter } from "./auth/rate-limit";
import type { Config } from "./config/config";
import { createDatabase, type Database } from "./db/client";
import { startEmbeddedDatabase } from "./db/embedded";
import { applyMigrations } from "./db/migrate";
import { type Mailer, OutboxMailer, ResendMailer } from "./mail/mailer";

export type Log = (line: string) => void;

/** Everything the routes and procedures use, created once per process. */
export interface Services {
  config: Config;
  db: Database;
  mailer: Mailer;
  rateLimiter: AuthRateLimiter;
  sessionCookie: SessionCookie;
  log: Log;
  close(): Promise<void>;
}

/**
 * Starts the services in dependency order: the database (embedded unless
 * DATABASE_URL is set), its migrations, then the rest.
 */
export async function startServices(config: Config, log: Log = console.log): Promise<Services> {
  const closers: Array<() => Promise<void>> = [];
  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const dir = path.join(config.dataDir, "postgres");
      log(`Starting embedded PostgreSQL in ${dir} (port ${config.embeddedPgPort})`);
      const embedded = await startEmbeddedDatabase({ dir, port: config.embeddedPgPort });
      closers.push(embedded.stop);
      databaseUrl = embedded.url;
    }
    const { applied } = await applyMigrations(databaseUrl);
    if (applied.length > 0) log(`Applied migrations: ${applied.join(", ")}`);
    const db = createDatabase(databaseUrl);
    closers.push(() => db.$disconnect());

    const mailer: Mailer = config.mail.resendApiKey
      ? new ResendMailer(config.mail.resendApiKey, config.mail.from, config.mail.resendBaseUrl)
      : new OutboxMailer(db, log);

    return {
      config,
      db,
      mailer,
      rateLimiter: new AuthRateLimiter(config.rateLimit),
      sessionCookie: createSessionCookie({
        secret: config.sessionSecret,
        ttlDays: config.sessionTtlDays,
      }),
      log,
      close: () => closeAll(closers),
    };
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}

async function closeAll(closers: Array<() => Promise<void>>) {
  for (const close of closers.reverse()) {
    await close().catch(() => {});
  }
}
