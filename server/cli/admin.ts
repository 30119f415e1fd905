import { Prisma } from "@prisma/client";
import { createApiKey } from "../auth/api-keys";
import { hashPassword } from "../auth/password";
import { emailSchema, nameSchema, passwordSchema } from "../auth/schemas";
import { loadConfig } from "../config/config";
import type { Database } from "../db/client";
import { openDatabase } from "../db/open";
import { CliError } from "./errors";

/** Admin commands work on the configured database directly (no server needed). */
async function withDatabase<T>(work: (db: Database) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const database = await openDatabase(config, () => {}).catch((error: unknown) => {
    // Only host and port: the URL's password must not reach a terminal or a log.
    const where = config.databaseUrl
      ? `at ${new URL(config.databaseUrl).host}`
      : `(embedded, in ${config.dataDir})`;
    const reason = (error as { code?: string }).code ?? (error as Error).message;
    throw new CliError(`Cannot open the database ${where}: ${reason}`);
  });
  try {
    return await work(database.db);
  } finally {
    await database.close();
  }
}

function parse<T>(
  schema: {
    safeParse(v: unknown): {
      success: boolean;
      data?: T;
      error?: { issues: { message: string }[] };
    };
  },
  value: unknown,
  flag: string,
): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new CliError(`${flag}: ${result.error?.issues[0]?.message}`);
  return result.data as T;
}

/** Creates a verified user (bootstrap, admins). */
export async function createUser(options: { email: string; password: string; name?: string }) {
  const email = parse<string>(emailSchema, options.email, "--email");
  const password = parse<string>(passwordSchema, options.password, "--password");
  const name = parse<string>(nameSchema, options.name ?? email.split("@")[0], "--name");
  const passwordHash = await hashPassword(password);
  return withDatabase(async (db) => {
    try {
      return await db.user.create({
        data: { email, name, passwordHash, emailVerifiedAt: new Date() },
        select: { id: true, email: true, name: true },
      });
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
        throw new CliError(`A user with email ${email} already exists`);
      }
      throw error;
    }
  });
}

export async function createKeyFor(options: { email: string; name?: string }) {
  const email = parse<string>(emailSchema, options.email, "--email");
  return withDatabase(async (db) => {
    const user = await db.user.findUnique({ where: { email }, select: { id: true } });
    if (!user) throw new CliError(`No user with email ${email}`);
    return createApiKey(db, user.id, options.name?.trim() || "cli");
  });
}
