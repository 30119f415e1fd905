import path from "node:path";
import type { Config } from "../config/config";
import { createDatabase, type Database } from "./client";
import { startEmbeddedDatabase } from "./embedded";
import { applyMigrations } from "./migrate";

/**
 * The configured database, or the embedded one (started, or shared when a
 * running Cloudless already owns it), migrated and connected.
 */
export async function openDatabase(
  config: Config,
  log: (line: string) => void,
): Promise<{ db: Database; url: string; close(): Promise<void> }> {
  let url = config.databaseUrl;
  let stopEmbedded = async () => {};
  if (!url) {
    const dir = path.join(config.dataDir, "postgres");
    log(`Starting embedded PostgreSQL in ${dir} (port ${config.embeddedPgPort})`);
    const embedded = await startEmbeddedDatabase({ dir, port: config.embeddedPgPort });
    url = embedded.url;
    stopEmbedded = embedded.stop;
  }
  try {
    const { applied } = await applyMigrations(url);
    if (applied.length > 0) log(`Applied migrations: ${applied.join(", ")}`);
  } catch (error) {
    await stopEmbedded();
    throw error;
  }
  const db = createDatabase(url, { log });
  return {
    db,
    url,
    async close() {
      await db.$disconnect();
      await stopEmbedded();
    },
  };
}
