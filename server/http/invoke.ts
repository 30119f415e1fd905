import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  CapacityError,
  ConcurrencyLimitError,
  EngineUnavailableError,
  type InvokeOutcome,
} from "../../runners/manager";
import type { EngineName } from "../../runners/types";
import type { EnqueueResult } from "../async/enqueuer";
import { DATABASE_UNAVAILABLE_MESSAGE, isDatabaseUnavailable } from "../db/unavailable";
import { CodeUnavailableError } from "../functions/code-cache";
import type { InvocableFunction } from "../invocations/function-directory";
import type { Services } from "../services";
import { isCrossSiteRequest } from "./cross-origin";
import { INVOCATION_STATUS_PREFIX } from "./invocation-status";
import { createRequestAuthenticator } from "./request-auth";

export const INVOKE_PREFIX = "/api/function/";
const ENGINES = new Set<EngineName>(["docker", "nanos"]);
/** Printable ASCII, as HTTP header values are; long enough for a UUID or a hash. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * The hot path: `/api/function/{userId}/{handler}/{engine}` (GET with query
 * values, or POST with a JSON body), answered on raw node:http with no work
 * the call does not need: a cached function lookup, auth only for private
 * functions, one round trip to a warm instance, and a queued record.
 */
export function createInvokeHandler(services: Services) {
  const { runners, functionDirectory, recorder, config } = services;
  const trustedOrigins = config.baseUrl ? [new URL(config.baseUrl).origin] : [];
  const authenticate = createRequestAuthenticator(services);

  return async function handleInvoke(req: IncomingMessage, res: ServerResponse) {
    if (services.draining) {
      // Nothing ran: the balancer may pass the call to another node (proxy_next_upstream http_503).
      res.setHeader("Retry-After", "1");
      res.setHeader("Connection", "close");
      req.resume();
      return send(res, 503, { error: "This node is shutting down; try again" });
    }
    try {
      await invoke(req, res);
    } catch (error) {
      // Lookups and auth that were not cached need the database: 503 while it is away.
      if (!isDatabaseUnavailable(error)) throw error;
      if (res.headersSent) return void res.destroy();
      send(res, 503, { error: DATABASE_UNAVAILABLE_MESSAGE });
    }
  };

  async function invoke(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://local");
    const parts = url.pathname.slice(INVOKE_PREFIX.length).split("/");
    if (parts.length !== 3 || parts.some((p) => p === "")) {
      return send(res, 404, { error: "Use /api/function/{userId}/{handler}/{engine}" });
    }
    const [userId, ref, engineName] = parts.map((p) => decodeURIComponent(p)) as [
      string,
      string,
      string,
    ];
    if (req.method !== "GET" && req.method !== "POST") {
      res.setHeader("Allow", "GET, POST");
      return send(res, 405, { error: "Use GET or POST" });
    }
    if (!ENGINES.has(engineName as EngineName)) {
      return send(res, 404, { error: `Unknown engine "${engineName}": use docker or nanos` });
    }
    const engine = engineName as EngineName;
    const fn = await functionDirectory.find(userId, ref);
    if (!fn) return send(res, 404, { error: `No function ${ref} for user ${userId}` });

    const isAsync =
      String(req.headers["x-invocation-type"] ?? "").toLowerCase() === "async" ||
      (req.method === "GET" && url.searchParams.get("async") === "1");
    if (req.method === "GET" && isAsync) url.searchParams.delete("async");
    // Only the owner can read an async call's result, so only the owner may queue one.
    if (!fn.isPublic || isAsync) {
      const auth = await authenticate(req);
      if (auth.error) return send(res, 401, { error: auth.error });
      if (!auth.userId) {
        return send(res, 401, {
          error: "This function is private: sign in or send Authorization: Bearer <API key>",
        });
      }
      if (auth.userId !== fn.target.userId) {
        return send(res, 403, { error: "This function belongs to another user" });
      }
      // A cookie is ambient: a call with it must come from this site, GETs too
      // (a call runs code whatever the method; SameSite=Lax still sends the
      // cookie on another site's links).
      if (auth.viaCookie && isCrossSiteRequest(req.headers, trustedOrigins)) {
        return send(res, 403, { error: "Cross-origin request refused (CSRF protection)" });
      }
    }

    const args = [...url.searchParams.values()];
    let event: unknown = Object.fromEntries(url.searchParams);
    if (req.method === "POST") {
      const body = await readBody(req, config.invocations.maxBodyBytes);
      if (body === "too-large") {
        return send(res, 413, {
          error: `Request body over ${config.invocations.maxBodyBytes} bytes`,
        });
      }
      if (body.length > 0) {
        try {
          event = JSON.parse(body.toString("utf8"));
        } catch {
          return send(res, 400, { error: "The body is not valid JSON" });
        }
        // Script-style functions take argv: a JSON array body supplies it.
        if (Array.isArray(event))
          args.push(...event.map((v) => (typeof v === "string" ? v : JSON.stringify(v))));
      }
    }

    if (isAsync) return enqueue(req, res, fn, engine, args, event);

    const invocationId = randomUUID();
    let outcome: InvokeOutcome;
    try {
      outcome = await runners.invoke(engine, fn.target, { invocationId, args, event });
    } catch (error) {
      if (services.draining && !(error instanceof CodeUnavailableError)) {
        // Stopping took the pool this call waited for; it did not run, so another node may take it.
        res.setHeader("Retry-After", "1");
        return send(res, 503, { error: "This node is shutting down; try again" });
      }
      if (error instanceof ConcurrencyLimitError) {
        return send(res, 429, {
          error: `Over this function's concurrency (${fn.target.maxConcurrency}): ${error.message}`,
        });
      }
      if (error instanceof EngineUnavailableError || error instanceof CapacityError) {
        return send(res, 503, {
          error: `The ${engine} engine is unavailable`,
          reason: error.message,
        });
      }
      if (error instanceof CodeUnavailableError) {
        return send(res, 503, {
          error: "The function's code is unavailable",
          reason: error.message,
        });
      }
      services.log(
        `[invoke ${invocationId}] function ${fn.target.functionId}: ${(error as Error).stack ?? error}`,
      );
      return send(res, 500, { error: "The call failed inside Cloudless", invocationId });
    }

    services.metrics.observe(engine, outcome.start, outcome.status, outcome.timings.totalMs);
    recorder.record({
      id: invocationId,
      functionId: fn.target.functionId,
      userId: fn.target.userId,
      versionNumber: fn.target.versionNumber,
      engine,
      start: outcome.start,
      bootMode: outcome.bootMode,
      status: outcome.status,
      timeout: outcome.timeout,
      error: outcome.error,
      durationMs: outcome.durationMs,
      ...outcome.timings,
      stdout: outcome.stdout,
      stderr: outcome.stderr,
    });
    send(res, outcome.timeout ? 504 : 200, {
      status: outcome.status,
      stdout: outcome.stdout,
      stderr: outcome.stderr,
      result: outcome.result,
      timeout: outcome.timeout,
      durationMs: outcome.durationMs,
      error: outcome.error,
      truncated: outcome.truncated,
      invocationId,
      engine,
      version: fn.target.versionNumber,
      start: outcome.start,
      // Nanos only: whether the call's VM was booted or restored from a saved VM.
      bootMode: outcome.bootMode ?? undefined,
      timings: outcome.timings,
    });
  }

  async function enqueue(
    req: IncomingMessage,
    res: ServerResponse,
    fn: InvocableFunction,
    engine: EngineName,
    args: string[],
    event: unknown,
  ) {
    const keyHeader = req.headers["idempotency-key"];
    const idempotencyKey = Array.isArray(keyHeader) ? keyHeader[0] : keyHeader;
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      return send(res, 400, {
        error: "Idempotency-Key must be 1-255 printable ASCII characters without spaces",
      });
    }
    let result: EnqueueResult;
    try {
      result = await services.asyncCalls.enqueue({ fn, engine, event, args, idempotencyKey });
    } catch (error) {
      services.log(
        `[invoke async] function ${fn.target.functionId}: ${(error as Error).stack ?? error}`,
      );
      return send(res, 503, { error: "Could not queue the call; nothing was queued" });
    }
    const origin = config.baseUrl ?? `http://${req.headers.host ?? "localhost"}`;
    const statusUrl = (id: string) => `${origin}${INVOCATION_STATUS_PREFIX}${id}`;
    switch (result.kind) {
      case "queued":
        return send(res, 202, {
          invocationId: result.id,
          status: "queued",
          statusUrl: statusUrl(result.id),
        });
      case "repeat":
        return send(res, result.state === "queued" || result.state === "running" ? 202 : 200, {
          invocationId: result.id,
          status: result.state,
          statusUrl: statusUrl(result.id),
          repeated: true,
        });
      case "key-conflict":
        return send(res, 409, {
          error: "This Idempotency-Key was used in the last 24 hours for a different request",
          invocationId: result.id,
        });
      case "over-cap":
        return send(res, 429, {
          error: `Too many queued calls: at most ${result.limit} queued or running per user`,
        });
      default:
        return send(res, 500, { error: "The call was not queued" });
    }
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | "too-large"> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers["content-length"] ?? 0) > limit) {
      req.resume();
      return resolve("too-large");
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Stop keeping it; let the rest drain so the 413 reaches the client.
        req.removeAllListeners("data");
        req.resume();
        resolve("too-large");
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(payload),
    "cache-control": "no-store",
  });
  res.end(payload);
}
