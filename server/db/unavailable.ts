import { TRPCError } from "@trpc/server";

/** What a client is told while PostgreSQL cannot be reached. */
export const DATABASE_UNAVAILABLE_MESSAGE = "The database is unavailable; try again shortly.";

// Driver-adapter error kinds (@prisma/adapter-pg) that mean "no database right now",
// as opposed to a query the database refused.
const UNREACHABLE_KINDS = new Set([
  "DatabaseNotReachable",
  "ConnectionClosed",
  "SocketTimeout",
  "TooManyConnections",
]);
// Prisma's own codes for the same: can't reach, timed out, closed, pool timeout.
const UNREACHABLE_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);
// PostgreSQL shutting down or starting up (admin_shutdown, crash_shutdown, cannot_connect_now).
const UNREACHABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03"]);
// node-postgres' own messages for a pool that cannot get or keep a connection.
// (Not bare ECONNREFUSED: other services' errors, S3's, say that too.)
const UNREACHABLE_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|Query read timeout|Can't reach database server/;

/**
 * True when `error` (or its cause chain) says the database cannot be reached,
 * so the edge answers 503 with a sentence instead of 500: a stopped or
 * restarting PostgreSQL is an outage to wait out, not a bug.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; depth += 1) {
    if (typeof e !== "object") return false;
    const err = e as {
      code?: unknown;
      message?: unknown;
      meta?: { driverAdapterError?: { cause?: { kind?: string; originalCode?: string } } };
      cause?: unknown;
      kind?: unknown;
      originalCode?: unknown;
    };
    const adapterCause = err.meta?.driverAdapterError?.cause ?? err.cause;
    const kind = (adapterCause as { kind?: unknown } | undefined)?.kind ?? err.kind;
    if (typeof kind === "string" && UNREACHABLE_KINDS.has(kind)) return true;
    const sqlState =
      (adapterCause as { originalCode?: unknown } | undefined)?.originalCode ?? err.originalCode;
    if (typeof sqlState === "string" && UNREACHABLE_SQLSTATES.has(sqlState)) return true;
    if (typeof err.code === "string") {
      if (UNREACHABLE_CODES.has(err.code) || UNREACHABLE_SQLSTATES.has(err.code)) return true;
    }
    if (typeof err.message === "string" && UNREACHABLE_MESSAGES.test(err.message)) return true;
    e = err.cause;
  }
  return false;
}

/** The tRPC error for an unreachable database (HTTP 503). */
export function databaseUnavailableError(cause: unknown): TRPCError {
  return new TRPCError({
    code: "SERVICE_UNAVAILABLE",
    message: DATABASE_UNAVAILABLE_MESSAGE,
    cause,
  });
}
