import { randomUUID } from "node:crypto";
import { createApiKey } from "../../server/auth/api-keys";
import { startSession } from "../../server/auth/start-session";
import type { Services } from "../../server/services";
import type { TestApp } from "./app";
import { createTenant, type Deployed, deploy, type Tenant } from "./docker";
import { listObjects } from "./functions";

// A tenant whose things other tenants must neither see nor touch: cross-tenant
// suites aim their calls at these ids and then check nothing of them changed.

/** Written into the victim's code: it must never appear in anyone else's answers. */
export const VICTIM_CODE_MARKER = "victim-secret-4f9c2e";

export interface Victim extends Tenant {
  name: string;
  /** A private function with two versions (version 2 live). */
  fn: Deployed;
  version: { number: number; s3Key: string; sha256: string };
  /** Another API key of the victim's, by its row id and prefix (never its secret). */
  apiKey: { id: string; prefix: string };
  /** The session behind `cookie`, by row id. */
  sessionId: string;
  /** One recorded call of `fn`. */
  invocationId: string;
  /** A schedule of `fn` (enabled) and one finished async call of it. */
  scheduleId: string;
  asyncId: string;
}

/**
 * A victim with one of everything a procedure can name: a function with two
 * versions, a second API key, a session and a recorded call. The call goes
 * through the real recorder (row and latency rollup), so no engine has to run.
 */
export async function createVictim(app: TestApp, email = "victim@example.com"): Promise<Victim> {
  const tenant = await createTenant(app, email);
  const code = (n: number) =>
    `SECRET = "${VICTIM_CODE_MARKER}"\n\ndef main(event, context):\n    return ${n}\n`;
  const fn = await deploy(tenant, {
    name: "victim-fn",
    runtime: "python",
    handler: "victim.main",
    memoryMb: 64,
    code: code(1),
  });
  await tenant.sdk.functions.uploadCode.mutate({
    id: fn.id,
    codeBase64: Buffer.from(code(2)).toString("base64"),
    fileName: "victim.py",
  });
  const { db } = app.services;
  const version = await db.functionVersion.findFirstOrThrow({
    where: { functionId: fn.id, number: 2 },
    select: { number: true, s3Key: true, sha256: true },
  });
  const { record } = await createApiKey(db, tenant.id, "victim's other key");
  const session = await db.session.findFirstOrThrow({ where: { userId: tenant.id } });
  const invocationId = randomUUID();
  app.services.recorder.record({
    id: invocationId,
    functionId: fn.id,
    userId: tenant.id,
    versionNumber: 2,
    engine: "docker",
    start: "warm",
    status: 0,
    durationMs: 1,
    queueMs: 0,
    startMs: 0,
    execMs: 1,
    totalMs: 1,
    stdout: VICTIM_CODE_MARKER,
  });
  await app.services.recorder.flush();
  const schedule = await db.schedule.create({
    data: { functionId: fn.id, userId: tenant.id, cron: "0 0 1 1 *", event: {} },
  });
  const asyncId = randomUUID();
  await db.asyncInvocation.create({
    data: {
      id: asyncId,
      functionId: fn.id,
      userId: tenant.id,
      engine: "docker",
      event: {},
      state: "succeeded",
      attempts: 1,
      maxAttempts: 3,
      stdout: VICTIM_CODE_MARKER,
      status: 0,
    },
  });
  const user = await db.user.findUniqueOrThrow({ where: { id: tenant.id } });
  return {
    ...tenant,
    name: user.name,
    fn,
    version,
    apiKey: { id: record.id, prefix: record.prefix },
    sessionId: session.id,
    invocationId,
    scheduleId: schedule.id,
    asyncId,
  };
}

/** Strings that identify the victim's things; none may reach another tenant. */
export function victimSecrets(victim: Victim): string[] {
  return [
    victim.id,
    victim.email,
    victim.fn.id,
    victim.version.s3Key,
    victim.version.sha256,
    VICTIM_CODE_MARKER,
    victim.apiKey.id,
    victim.apiKey.prefix,
    victim.key.slice(3, 15),
    victim.sessionId,
    victim.invocationId,
  ];
}

/**
 * Everything of the victim's that another tenant's call could change: the
 * user row (password hash included), sessions, keys, functions, versions,
 * calls and stored code. Emails and tokens are left out: anyone may ask for
 * a reset link or a verification mail for an address, which goes to its owner.
 */
export async function victimState(services: Services, victim: Pick<Victim, "id">) {
  const { db } = services;
  const userId = victim.id;
  const [user, sessions, apiKeys, functions, versions, invocations, objects] = await Promise.all([
    db.user.findUnique({ where: { id: userId } }),
    db.session.findMany({ where: { userId }, orderBy: { id: "asc" } }),
    db.apiKey.findMany({ where: { userId }, orderBy: { id: "asc" } }),
    db.function.findMany({ where: { userId }, orderBy: { id: "asc" } }),
    db.functionVersion.findMany({
      where: { function: { userId } },
      orderBy: [{ functionId: "asc" }, { number: "asc" }],
    }),
    db.invocation.findMany({ where: { userId }, orderBy: { id: "asc" } }),
    listObjects(services),
  ]);
  return {
    user,
    sessions,
    apiKeys,
    functions,
    versions,
    invocations,
    objects: objects.filter((o) => o.key.includes(userId)),
  };
}

/** A fresh browser session of a user, as the `cl_session=…` pair a browser sends. */
export async function newSessionCookie(services: Services, userId: string): Promise<string> {
  const line = await startSession(services, {
    userId,
    userAgent: "tests",
    ip: null,
    secure: false,
  });
  return line.split(";")[0]!;
}
