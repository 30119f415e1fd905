import pg from "pg";
import type { AsyncInvocationView } from "../../server/async/view";
import type { TestApp } from "./app";
import { type CallOptions, call, type Deployed, waitFor } from "./docker";

/** An async call over HTTP: `X-Invocation-Type: async`, answered with 202 and an id. */
export async function callAsync(
  app: TestApp,
  caller: { key: string },
  fn: Pick<Deployed, "userId" | "handler">,
  options: CallOptions = {},
) {
  const result = await call(app, caller, fn, {
    ...options,
    headers: { "x-invocation-type": "async", ...options.headers },
  });
  return result as unknown as {
    http: number;
    body: { invocationId: string; status: string; statusUrl: string; error?: string };
  };
}

export async function getInvocation(
  app: TestApp,
  key: string | null,
  id: string,
): Promise<{ http: number; body: AsyncInvocationView & { error?: string } }> {
  const response = await fetch(`${app.url}/api/invocations/${id}`, {
    headers: key ? { authorization: `Bearer ${key}` } : {},
  });
  return { http: response.status, body: await response.json() };
}

const FINAL = new Set(["succeeded", "failed", "dead"]);

/** Polls the status endpoint until the call is succeeded, failed or dead. */
export function waitForFinal(app: TestApp, key: string, id: string, timeoutMs = 30_000) {
  return waitFor(
    `async invocation ${id} to finish`,
    async () => {
      const { body } = await getInvocation(app, key, id);
      return FINAL.has(body.state) ? body : null;
    },
    timeoutMs,
    100,
  );
}

/** Jobs of a function still waiting in pg-boss's table (not yet taken by a worker). */
export async function waitingJobs(app: TestApp, functionId: string): Promise<number> {
  const client = new pg.Client({ connectionString: app.services.config.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pgboss.job WHERE data->>'functionId' = $1 AND state < 'active'`,
      [functionId],
    );
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}
