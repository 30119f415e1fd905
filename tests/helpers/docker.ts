import fs from "node:fs";
import Docker from "dockerode";
import { LABELS } from "../../runners/labels";
import type { RuntimeName } from "../../runners/types";
import type { RouterInputs } from "../../server/client";
import {
  type CloudlessClient,
  createCloudlessClient,
  type InvocationResponse,
} from "../../server/client";
import type { TestApp } from "./app";
import { b64, createTestUser, type TestUser } from "./functions";

// Helpers for the tests that run functions in real Docker containers.

export const docker = new Docker();

/** The engine settings every Docker test app shares; a file adds its own on top. */
export const DOCKER_ENV = {
  ENGINES: "docker",
  // Small containers and few of them: the machine has two cores shared with other work.
  POOL_GENERIC_MEMORY_MB: "64",
  BOOT_TIMEOUT_MS: "20000",
  // TEST_DOCKER_AGENT_TRANSPORT=exec runs the Docker suites over the remote engines' exec relay.
  ...(process.env.TEST_DOCKER_AGENT_TRANSPORT
    ? { DOCKER_AGENT_TRANSPORT: process.env.TEST_DOCKER_AGENT_TRANSPORT }
    : {}),
};

export interface Tenant extends TestUser {
  sdk: CloudlessClient;
}

/** A user with an API key, and the typed SDK signed in with it. */
export async function createTenant(app: TestApp, email: string): Promise<Tenant> {
  const user = await createTestUser(app.services, email);
  return { ...user, sdk: createCloudlessClient({ url: app.url, apiKey: user.key }) };
}

type CreateInput = RouterInputs["functions"]["create"];

export interface Deployed {
  id: string;
  userId: string;
  name: string;
  handler: string;
}

/** Deploys source text through the SDK (the way a program deploys), returning what a call needs. */
export async function deploy(
  tenant: Tenant,
  fields: Omit<CreateInput, "codeBase64" | "fileName"> & { code: string | Buffer },
): Promise<Deployed> {
  const { code, ...settings } = fields;
  const ext = settings.runtime === "python" ? "py" : "js";
  const fn = await tenant.sdk.functions.create.mutate({
    ...settings,
    codeBase64: b64(code),
    fileName: `${settings.handler.split(".")[0]}.${ext}`,
  });
  return { id: fn.id, userId: fn.userId, name: fn.name, handler: fn.handler };
}

export type ExampleName = "calc" | "student" | "sum" | "greeting" | "counter";

/** The project's examples, each deployed in the style it suits (as the README shows). */
export async function deployExamples(tenant: Tenant): Promise<Record<ExampleName, Deployed>> {
  const example = (file: string) => fs.readFileSync(`examples/${file}`, "utf8");
  const common = { memoryMb: 64 } as const;
  const [calc, student, sum, greeting, counter] = await Promise.all([
    deploy(tenant, {
      ...common,
      name: "calc",
      runtime: "python",
      handler: "calc.calculator",
      style: "script",
      code: example("calc.py"),
    }),
    deploy(tenant, {
      ...common,
      name: "student",
      runtime: "python",
      handler: "student.greet",
      code: example("student.py"),
    }),
    deploy(tenant, {
      ...common,
      name: "sum",
      runtime: "node",
      handler: "sum.main",
      style: "script",
      code: example("sum.js"),
    }),
    deploy(tenant, {
      ...common,
      name: "greeting",
      runtime: "node",
      handler: "greeting.greet",
      code: example("greeting.js"),
    }),
    deploy(tenant, {
      ...common,
      name: "counter",
      runtime: "python",
      handler: "counter.count",
      code: example("counter.py"),
    }),
  ]);
  return { calc: calc!, student: student!, sum: sum!, greeting: greeting!, counter: counter! };
}

export interface CallOptions {
  /** Query values, in order (they become argv of a script). */
  query?: Array<[string, string]> | Record<string, string>;
  /** A JSON value (sent as a POST body) or a raw string body. */
  body?: unknown;
  rawBody?: string;
  /** API key to send; null sends none. Defaults to the caller's own key. */
  key?: string | null;
  headers?: Record<string, string>;
  engine?: string;
}

export interface CallResult {
  http: number;
  body: InvocationResponse & { error: string | null; reason?: string };
  ms: number;
}

/** One call to the invocation route over real HTTP. */
export async function call(
  app: TestApp,
  caller: Pick<TestUser, "key">,
  fn: Pick<Deployed, "userId" | "handler">,
  options: CallOptions = {},
): Promise<CallResult> {
  const query = new URLSearchParams(options.query ?? []);
  const path = `/api/function/${fn.userId}/${fn.handler}/${options.engine ?? "docker"}`;
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? caller.key : options.key;
  if (key) headers.authorization = `Bearer ${key}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers["content-type"] ??= "application/json";
  const started = performance.now();
  const response = await fetch(`${app.url}${path}${query.size > 0 ? `?${query}` : ""}`, {
    method: body === undefined ? "GET" : "POST",
    headers,
    body,
  });
  const text = await response.text();
  let parsed: CallResult["body"];
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`The route answered ${response.status} with a non-JSON body: ${text}`);
  }
  return { http: response.status, body: parsed, ms: performance.now() - started };
}

/** A call that must have run and succeeded; fails with the whole answer otherwise. */
export async function callOk(...args: Parameters<typeof call>): Promise<InvocationResponse> {
  const result = await call(...args);
  if (result.http !== 200 || result.body.status !== 0) {
    throw new Error(
      `Expected a successful call, got HTTP ${result.http}: ${JSON.stringify(result.body)}`,
    );
  }
  return result.body;
}

/** The owner label of this app's instances: the only containers a test may look at or remove. */
export function ownerOf(app: TestApp): string {
  return app.services.config.runners.ownerId;
}

export function ownerContainers(ownerId: string, all = true) {
  return docker.listContainers({
    all,
    filters: { label: [`${LABELS.managed}=true`, `${LABELS.owner}=${ownerId}`] },
  });
}

/** The container an instance runs in, from the hostname a function reported (its short id). */
export async function containerOf(hostname: string) {
  return docker
    .getContainer(hostname)
    .inspect()
    .catch((error: { statusCode?: number }) => {
      if (error.statusCode === 404) return null;
      throw error;
    });
}

/** Removes whatever this app's owner still has (a test that failed half-way), never anyone else's. */
export async function removeOwnerContainers(ownerId: string) {
  for (const c of await ownerContainers(ownerId)) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => {});
  }
}

/** Polls until `check` returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T> | T,
  timeoutMs = 15_000,
  intervalMs = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until the generic stock of a runtime holds `count` booted instances. */
export function waitForStock(app: TestApp, runtime: RuntimeName, count = 1) {
  return waitFor(`${count} generic ${runtime} instance(s)`, () => {
    const row = app.services.runners
      .stats()
      .instances.find((r) => r.engine === "docker" && r.runtime === runtime);
    return (row?.generic ?? 0) >= count;
  });
}
