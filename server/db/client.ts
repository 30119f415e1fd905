import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@prisma/client";

export type Database = PrismaClient;

/**
 * While PostgreSQL is down or unreachable, a request must fail fast with 503
 * rather than hang: connecting gives up after this long, and a query the
 * server never answers after `QUERY_TIMEOUT_MS` (longer than any query we run).
 */
const CONNECT_TIMEOUT_MS = 3000;
const QUERY_TIMEOUT_MS = 30_000;

/** Prisma with the `client` engine talks to PostgreSQL through node-postgres. */
export function createDatabase(
  url: string,
  options: { maxConnections?: number; log?: (line: string) => void } = {},
): Database {
  const adapter = new PrismaPg(
    {
      connectionString: url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
      keepAlive: true,
    },
    {
      // An idle connection dropped by a stopping server: the pool replaces it on the next
      // query. Without a listener node-postgres would raise it as an uncaught 'error'.
      onPoolError: (error) => options.log?.(`PostgreSQL connection lost: ${error.message}`),
      onConnectionError: (error) => options.log?.(`PostgreSQL connection error: ${error.message}`),
    },
  );
  return new PrismaClient({ adapter });
}
