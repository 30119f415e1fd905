import { randomUUID } from "node:crypto";
import type { EventEmitter } from "node:events";
import { Prisma } from "@prisma/client";
import type { Config } from "../config/config";
import type { Database } from "../db/client";
import type { FunctionEvents } from "../services";
import { CodeStore } from "../storage/code-store";
import { type CheckedCode, CodeError, checkCode } from "./code";
import { runtimeVersions } from "./runtime-versions";
import type { CreateFunctionInput, RuntimeName, UpdateSettingsInput } from "./schemas";

export type FunctionErrorCode = "NOT_FOUND" | "CONFLICT" | "BAD_REQUEST" | "PAYLOAD_TOO_LARGE";

/** An expected refusal, with the message to show and the form field it concerns. */
export class FunctionError extends Error {
  constructor(
    readonly code: FunctionErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface FunctionDeps {
  db: Database;
  codeStore: CodeStore;
  config: Config["functions"];
  events: EventEmitter<FunctionEvents>;
}

const versionSelect = {
  id: true,
  number: true,
  sha256: true,
  sizeBytes: true,
  createdAt: true,
} satisfies Prisma.FunctionVersionSelect;

/** What any procedure may return about a function: never the env values, never the S3 key. */
export const functionSelect = {
  id: true,
  userId: true,
  name: true,
  description: true,
  runtime: true,
  handler: true,
  style: true,
  memoryMb: true,
  timeoutSeconds: true,
  maxConcurrency: true,
  minWarm: true,
  isPublic: true,
  networkEnabled: true,
  asyncRetries: true,
  retryOnError: true,
  env: true,
  createdAt: true,
  updatedAt: true,
  activeVersion: { select: versionSelect },
} satisfies Prisma.FunctionSelect;

type FunctionRow = Prisma.FunctionGetPayload<{ select: typeof functionSelect }>;

/** Env values are shown only as a hint after saving. */
function present(row: FunctionRow) {
  const env = Object.entries(readEnv(row.env)).map(([key, value]) => ({
    key,
    preview: value.length > 8 ? `${value.slice(0, 2)}••••••` : "••••••",
  }));
  return { ...row, env };
}

export type FunctionView = ReturnType<typeof present>;

function readEnv(value: Prisma.JsonValue): Record<string, string> {
  if (!value || typeof value !== "object" || Array.isArray(value)) return {};
  return Object.fromEntries(
    Object.entries(value).filter((e): e is [string, string] => typeof e[1] === "string"),
  );
}

/** Applies an env update: strings set, `null` keeps the saved value, absent keys are removed. */
function mergeEnv(saved: Record<string, string>, update: Record<string, string | null>) {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(update)) {
    if (value !== null) env[key] = value;
    else if (key in saved) env[key] = saved[key]!;
    else throw new FunctionError("BAD_REQUEST", `Give a value for ${key}`, "env");
  }
  return env;
}

/**
 * The user's functions, each with its runtime's version and its use: calls
 * so far and the last one's time, counted in one grouped query over the
 * (functionId, createdAt) index.
 */
export async function listFunctions(db: Database, config: Config, userId: string) {
  const [rows, versions] = await Promise.all([
    db.function.findMany({ where: { userId }, select: functionSelect, orderBy: { name: "asc" } }),
    runtimeVersions(config),
  ]);
  const usage =
    rows.length === 0
      ? []
      : await db.invocation.groupBy({
          by: ["functionId"],
          where: { functionId: { in: rows.map((r) => r.id) } },
          _count: { _all: true },
          _max: { createdAt: true },
        });
  const byId = new Map(usage.map((u) => [u.functionId, u]));
  return rows.map((row) => {
    const use = byId.get(row.id);
    return {
      ...present(row),
      runtimeVersion: versions[row.runtime],
      calls: use?._count._all ?? 0,
      lastInvokedAt: use?._max.createdAt ?? null,
    };
  });
}

async function findOwned(db: Database, userId: string, id: string): Promise<FunctionRow> {
  // Scoped by owner in the query itself: another user's id is simply not found.
  const row = await db.function.findFirst({ where: { id, userId }, select: functionSelect });
  if (!row) throw new FunctionError("NOT_FOUND", "No such function.");
  return row;
}

export async function getFunction(db: Database, userId: string, id: string) {
  return present(await findOwned(db, userId, id));
}

export async function getFunctionByName(db: Database, userId: string, name: string) {
  const row = await db.function.findUnique({
    where: { userId_name: { userId, name } },
    select: functionSelect,
  });
  if (!row) throw new FunctionError("NOT_FOUND", `No function named "${name}".`);
  return present(row);
}

async function check(
  deps: FunctionDeps,
  input: { codeBase64: string; fileName?: string; runtime: RuntimeName; handler: string },
): Promise<CheckedCode> {
  try {
    return await checkCode(input, {
      maxBytes: deps.config.maxCodeBytes,
      interpreters: { pythonBin: deps.config.pythonBin, nodeBin: deps.config.nodeBin },
    });
  } catch (error) {
    if (error instanceof CodeError) {
      throw new FunctionError(
        error.tooLarge ? "PAYLOAD_TOO_LARGE" : "BAD_REQUEST",
        error.message,
        "code",
      );
    }
    throw error;
  }
}

/**
 * Object first, rows second: if the rows cannot be written, the object is
 * removed again (unless another version uses the same content), so nothing
 * half-written stays behind.
 */
async function withStoredObject<T>(
  deps: FunctionDeps,
  key: string,
  code: CheckedCode,
  write: () => Promise<T>,
): Promise<T> {
  const { created } = await deps.codeStore.put(key, code.bytes, code.sha256);
  try {
    return await write();
  } catch (error) {
    if (created) {
      const used = await deps.db.functionVersion.count({ where: { s3Key: key } }).catch(() => 1);
      if (used === 0) await deps.codeStore.deleteKeys([key]).catch(() => {});
    }
    throw error;
  }
}

/**
 * A unique violation on a function row as the refusal to show, or null.
 * Names and handlers are both unique per user (a handler names the function
 * in its invocation URL); the pg driver adapter says which columns clashed.
 */
function conflictOf(error: unknown, input: { name?: string; handler?: string }) {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError) || error.code !== "P2002") {
    return null;
  }
  return /handler/.test(JSON.stringify(error.meta ?? {}))
    ? handlerTaken(input.handler)
    : nameTaken(input.name);
}

export async function createFunction(
  deps: FunctionDeps,
  userId: string,
  input: CreateFunctionInput,
) {
  const taken = await deps.db.function.findFirst({
    where: { userId, OR: [{ name: input.name }, { handler: input.handler }] },
    select: { name: true },
  });
  if (taken)
    throw taken.name === input.name
      ? nameTaken(input.name)
      : handlerTaken(input.handler, taken.name);
  // Every refusal comes before the object is stored.
  const env = mergeEnv({}, input.env);
  const code = await check(deps, input);
  const id = randomUUID();
  const key = CodeStore.keyFor(userId, id, code.sha256, code.extension);
  try {
    const row = await withStoredObject(deps, key, code, () =>
      deps.db.$transaction(async (tx) => {
        await tx.function.create({
          data: {
            id,
            userId,
            name: input.name,
            description: input.description,
            runtime: input.runtime,
            handler: input.handler,
            style: input.style,
            memoryMb: input.memoryMb,
            timeoutSeconds: input.timeoutSeconds,
            maxConcurrency: input.maxConcurrency,
            minWarm: input.minWarm,
            isPublic: input.isPublic,
            networkEnabled: input.networkEnabled,
            asyncRetries: input.asyncRetries,
            retryOnError: input.retryOnError,
            env,
          },
        });
        const version = await tx.functionVersion.create({
          data: {
            functionId: id,
            number: 1,
            sha256: code.sha256,
            sizeBytes: code.bytes.byteLength,
            s3Key: key,
          },
        });
        return tx.function.update({
          where: { id },
          data: { activeVersionId: version.id },
          select: functionSelect,
        });
      }),
    );
    // Nothing runs it yet, but its warm minimum must boot before the first call.
    deps.events.emit("changed", id);
    return present(row);
  } catch (error) {
    // Two creates with one name both pass the check above; the unique index picks the winner.
    throw conflictOf(error, input) ?? error;
  }
}

function nameTaken(name: string | undefined) {
  return new FunctionError("CONFLICT", `You already have a function named "${name}".`, "name");
}

function handlerTaken(handler: string | undefined, by?: string) {
  return new FunctionError(
    "CONFLICT",
    `${by ? `Your function "${by}"` : "Another of your functions"} already uses the handler ${handler}; the handler names a function in its URL, so each needs its own.`,
    "handler",
  );
}

/** The row changes an update makes, checked against the saved settings. */
function settingsChanges(current: FunctionRow, input: UpdateSettingsInput) {
  const maxConcurrency = input.maxConcurrency ?? current.maxConcurrency;
  const minWarm = input.minWarm ?? current.minWarm;
  if (minWarm > maxConcurrency) {
    throw new FunctionError(
      "BAD_REQUEST",
      "Minimum warm instances cannot exceed the concurrency",
      "minWarm",
    );
  }
  const { env, ...rest } = input;
  return { ...rest, ...(env ? { env: mergeEnv(readEnv(current.env), env) } : {}) };
}

/**
 * Locks the function's row for the rest of the transaction and reads it
 * again: concurrent uploads and updates to one function then run one after
 * another, each on what the previous one committed.
 */
async function lockOwned(tx: Prisma.TransactionClient, userId: string, id: string) {
  const locked = await tx.$queryRaw<
    unknown[]
  >`SELECT id FROM "Function" WHERE id = ${id} AND "userId" = ${userId} FOR UPDATE`;
  if (locked.length === 0) throw new FunctionError("NOT_FOUND", "No such function.");
  return tx.function.findUniqueOrThrow({ where: { id }, select: functionSelect });
}

export async function updateSettings(
  deps: FunctionDeps,
  userId: string,
  id: string,
  input: UpdateSettingsInput,
) {
  try {
    const row = await deps.db.$transaction(async (tx) => {
      const current = await lockOwned(tx, userId, id);
      return tx.function.update({
        where: { id: current.id },
        data: settingsChanges(current, input),
        select: functionSelect,
      });
    });
    deps.events.emit("changed", id);
    return present(row);
  } catch (error) {
    throw conflictOf(error, input) ?? error;
  }
}

/**
 * A new immutable version from uploaded code, made active, together with
 * optional settings (a deploy): both are applied in one transaction, or
 * neither. Code identical to the active version makes no version; identical
 * to an older one, it makes a new version over the same stored object.
 */
export async function uploadVersion(
  deps: FunctionDeps,
  userId: string,
  id: string,
  input: { codeBase64: string; fileName?: string; settings?: UpdateSettingsInput },
) {
  const current = await findOwned(deps.db, userId, id);
  const settings = input.settings ?? {};
  // Refusals first, so that nothing is stored for a deploy that cannot go through.
  settingsChanges(current, settings);
  const code = await check(deps, {
    ...input,
    runtime: current.runtime,
    handler: settings.handler ?? current.handler,
  });
  const key = CodeStore.keyFor(userId, id, code.sha256, code.extension);
  // The key holds the hash and the extension: the same bytes as sum.cjs and as
  // sum.mjs are different modules, so "unchanged" compares keys, not hashes.
  const activeKey = (db: Prisma.TransactionClient, versionId: string | undefined) =>
    versionId
      ? db.functionVersion
          .findUnique({ where: { id: versionId }, select: { s3Key: true } })
          .then((v) => v?.s3Key)
      : undefined;
  const write = () =>
    deps.db.$transaction(async (tx) => {
      const locked = await lockOwned(tx, userId, id);
      const changes = settingsChanges(locked, settings);
      // Checked again under the lock: of two identical concurrent uploads, one makes the version.
      if ((await activeKey(tx, locked.activeVersion?.id)) === key) {
        if (Object.keys(changes).length > 0) {
          await tx.function.update({ where: { id }, data: changes });
        }
        return { version: locked.activeVersion!, created: false };
      }
      const last = await tx.functionVersion.findFirst({
        where: { functionId: id },
        orderBy: { number: "desc" },
        select: { number: true },
      });
      const version = await tx.functionVersion.create({
        data: {
          functionId: id,
          number: (last?.number ?? 0) + 1,
          sha256: code.sha256,
          sizeBytes: code.bytes.byteLength,
          s3Key: key,
        },
        select: versionSelect,
      });
      await tx.function.update({
        where: { id },
        data: { ...changes, activeVersionId: version.id },
      });
      return { version, created: true };
    });
  try {
    // Same code as the active version: its object is stored already (and stays,
    // as versions are only deleted with their function), so storage is not touched.
    const { version, created } =
      (await activeKey(deps.db, current.activeVersion?.id)) === key
        ? await write()
        : await withStoredObject(deps, key, code, write);
    if (created || Object.keys(settings).length > 0) deps.events.emit("changed", id);
    return { function: await getFunction(deps.db, userId, id), version, created };
  } catch (error) {
    throw conflictOf(error, settings) ?? error;
  }
}

export async function listVersions(db: Database, userId: string, id: string) {
  const fn = await findOwned(db, userId, id);
  const versions = await db.functionVersion.findMany({
    where: { functionId: fn.id },
    orderBy: { number: "desc" },
    select: versionSelect,
  });
  return versions.map((v) => ({ ...v, active: v.id === fn.activeVersion?.id }));
}

export async function rollback(deps: FunctionDeps, userId: string, id: string, number: number) {
  const fn = await findOwned(deps.db, userId, id);
  const version = await deps.db.functionVersion.findUnique({
    where: { functionId_number: { functionId: fn.id, number } },
    select: versionSelect,
  });
  if (!version) throw new FunctionError("NOT_FOUND", `Version ${number} does not exist.`);
  await deps.db.function.update({ where: { id: fn.id }, data: { activeVersionId: version.id } });
  deps.events.emit("changed", id);
  return version;
}

/** The source of a version (the active one by default), as text. */
export async function getCode(deps: FunctionDeps, userId: string, id: string, number?: number) {
  const fn = await findOwned(deps.db, userId, id);
  const version = await deps.db.functionVersion.findFirst({
    where:
      number === undefined ? { id: fn.activeVersion?.id ?? "-" } : { functionId: fn.id, number },
    select: { ...versionSelect, s3Key: true },
  });
  if (!version) throw new FunctionError("NOT_FOUND", "That version does not exist.");
  const bytes = await deps.codeStore.get(version.s3Key);
  const { s3Key, ...shown } = version;
  return {
    version: shown,
    fileName: `${fn.handler.split(".")[0]}.${s3Key.split(".").pop()}`,
    code: new TextDecoder().decode(bytes),
  };
}

/**
 * Objects first, then rows: if storage fails the function stays whole and the
 * user can retry; if the rows then fail, a retry finds no objects and finishes.
 */
export async function deleteFunction(deps: FunctionDeps, userId: string, id: string) {
  const fn = await findOwned(deps.db, userId, id);
  const prefix = CodeStore.prefixFor(userId, fn.id);
  await deps.codeStore.deletePrefix(prefix);
  await deps.db.function.deleteMany({ where: { id: fn.id, userId } });
  // An upload that stored its object after the first sweep and committed before
  // the rows went would leave that object behind; later uploads find no row and
  // remove their own. Best effort: the rows are gone, so the delete has happened.
  await deps.codeStore.deletePrefix(prefix).catch(() => {});
  deps.events.emit("changed", id);
  return { id: fn.id, name: fn.name };
}
