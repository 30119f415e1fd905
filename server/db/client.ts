import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@prisma/client";

export type Database = PrismaClient;

/** Prisma with the `client` engine talks to PostgreSQL through node-postgres. */
export function createDatabase(url: string, options: { maxConnections?: number } = {}): Database {
  const adapter = new PrismaPg({ connectionString: url, max: options.maxConnections ?? 10 });
  return new PrismaClient({ adapter });
}
