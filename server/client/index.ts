import { createTRPCClient, httpLink } from "@trpc/client";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "../root";

export type { AppRouter };
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;

export interface CloudlessClientOptions {
  /** The server, e.g. http://localhost:3000. */
  url: string;
  /** An API key from Settings (or `cloudless apikey create`). */
  apiKey: string;
  /** A fetch to use instead of the global one (tests, proxies). */
  fetch?: typeof fetch;
}

/**
 * The typed client of the Cloudless API: every procedure of the app router,
 * with its input and output types, authenticated by an API key.
 *
 *   const cloudless = createCloudlessClient({ url, apiKey });
 *   const fns = await cloudless.functions.list.query();
 */
export function createCloudlessClient(options: CloudlessClientOptions) {
  const base = options.url.replace(/\/+$/, "");
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${base}/api/trpc`,
        headers: { authorization: `Bearer ${options.apiKey}` },
        fetch: options.fetch,
      }),
    ],
  });
}

export type CloudlessClient = ReturnType<typeof createCloudlessClient>;

/** Reads a file's bytes as the base64 the upload procedures take. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

/** What the invocation route answers (DESIGN.md, "Invocation contract"). */
export interface InvocationResponse {
  status: number;
  stdout: string;
  stderr: string;
  result: unknown;
  timeout: boolean;
  durationMs: number;
  error: string | null;
  /** Output, and a returned value, cut at OUTPUT_LIMIT_BYTES (then ending with the marker). */
  truncated: { stdout: boolean; stderr: boolean; result?: boolean };
  invocationId: string;
  engine: "docker" | "nanos";
  version: number;
  start: "cold" | "prewarm" | "warm";
  /** Nanos only: the call's VM was booted, or restored from a saved VM. */
  bootMode?: "boot" | "restore";
  timings: { queueMs: number; startMs: number; execMs: number; totalMs: number };
}

export class InvocationError extends Error {
  constructor(
    readonly httpStatus: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

/**
 * Calls a function through `/api/function/{userId}/{handler}/{engine}`: GET
 * with `args` as query values (script style), or POST with `event` as the JSON
 * body (handler style). Resolves for every call that ran (check `status`);
 * rejects with InvocationError for refusals (401/403/404/413/429/503/504 …).
 */
export async function invokeFunction(
  options: CloudlessClientOptions,
  request: {
    userId: string;
    /** The handler (`calc.calculator`) or the function's name. */
    handler: string;
    engine?: "docker" | "nanos";
    args?: Array<string | number>;
    event?: unknown;
  },
): Promise<InvocationResponse> {
  const response = await (options.fetch ?? fetch)(invocationUrl(options, request), {
    method: request.event === undefined ? "GET" : "POST",
    headers: {
      authorization: `Bearer ${options.apiKey}`,
      ...(request.event === undefined ? {} : { "content-type": "application/json" }),
    },
    body: request.event === undefined ? undefined : JSON.stringify(request.event),
  });
  const body = (await response.json().catch(() => null)) as
    | (InvocationResponse & { error?: string; reason?: string })
    | null;
  if (response.status === 200 || (response.status === 504 && body?.timeout))
    return body as InvocationResponse;
  const reason = body?.reason ? `: ${body.reason}` : "";
  throw new InvocationError(
    response.status,
    `${body?.error ?? response.statusText}${reason}`,
    body,
  );
}

/** `/api/function/{userId}/{handler}/{engine}` with args as query values, as both call kinds send it. */
function invocationUrl(
  options: CloudlessClientOptions,
  request: Pick<Parameters<typeof invokeFunction>[1], "userId" | "handler" | "engine" | "args">,
) {
  const base = options.url.replace(/\/+$/, "");
  const path = [request.userId, request.handler, request.engine ?? "docker"]
    .map(encodeURIComponent)
    .join("/");
  const query = new URLSearchParams();
  for (const [i, value] of (request.args ?? []).entries()) query.append(`arg${i}`, String(value));
  return `${base}/api/function/${path}${query.size > 0 ? `?${query}` : ""}`;
}

/** The 202 of an async call (or the first call's id, for a repeated Idempotency-Key). */
export interface AsyncAccepted {
  invocationId: string;
  status: string;
  statusUrl: string;
  repeated?: boolean;
}

/** An async call as GET /api/invocations/{id} shows it. */
export type AsyncInvocation = RouterOutputs["invocations"]["getAsync"];

/**
 * Queues a call (`X-Invocation-Type: async`): resolves with its id as soon as
 * the server has committed it; the result comes later (getInvocation,
 * waitForInvocation). Rejects with InvocationError for refusals (400, 401,
 * 403, 404, 409 reused key with another body, 413, 429 over the queue cap).
 */
export async function invokeAsync(
  options: CloudlessClientOptions,
  request: Parameters<typeof invokeFunction>[1] & {
    /** The same key within 24 h returns the first call instead of queuing another. */
    idempotencyKey?: string;
  },
): Promise<AsyncAccepted> {
  const response = await (options.fetch ?? fetch)(invocationUrl(options, request), {
    method: "POST",
    headers: {
      authorization: `Bearer ${options.apiKey}`,
      "x-invocation-type": "async",
      "content-type": "application/json",
      ...(request.idempotencyKey ? { "idempotency-key": request.idempotencyKey } : {}),
    },
    body: request.event === undefined ? "" : JSON.stringify(request.event),
  });
  const body = (await response.json().catch(() => null)) as
    | (AsyncAccepted & { error?: string })
    | null;
  if (response.status === 202 || response.status === 200) return body as AsyncAccepted;
  throw new InvocationError(response.status, body?.error ?? response.statusText, body);
}

/** An async call's state, attempts, timestamps and last outcome. */
export async function getInvocation(
  options: CloudlessClientOptions,
  invocationId: string,
): Promise<AsyncInvocation> {
  const base = options.url.replace(/\/+$/, "");
  const response = await (options.fetch ?? fetch)(
    `${base}/api/invocations/${encodeURIComponent(invocationId)}`,
    { headers: { authorization: `Bearer ${options.apiKey}` } },
  );
  const body = (await response.json().catch(() => null)) as
    | (AsyncInvocation & { error?: string })
    | null;
  if (response.status !== 200) {
    throw new InvocationError(response.status, body?.error ?? response.statusText, body);
  }
  return body as AsyncInvocation;
}

/** Polls until the call is succeeded, failed or dead (or `timeoutMs` passes). */
export async function waitForInvocation(
  options: CloudlessClientOptions,
  invocationId: string,
  { timeoutMs = 60_000, intervalMs = 250 } = {},
): Promise<AsyncInvocation> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const call = await getInvocation(options, invocationId);
    if (call.state === "succeeded" || call.state === "failed" || call.state === "dead") return call;
    if (Date.now() > deadline) {
      throw new Error(`Invocation ${invocationId} is still ${call.state} after ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
