import type { IncomingMessage, ServerResponse } from "node:http";
import { findAsyncInvocation } from "../async/view";
import type { Services } from "../services";
import { createRequestAuthenticator } from "./request-auth";

export const INVOCATION_STATUS_PREFIX = "/api/invocations/";

/**
 * `GET /api/invocations/{id}`: an async call's state (queued, running,
 * succeeded, failed, dead), attempts, timestamps and its last outcome, for
 * the owner's session or API key. Another user's call is "not found".
 */
export function createInvocationStatusHandler(services: Services) {
  const authenticate = createRequestAuthenticator(services);
  return async function handleInvocationStatus(req: IncomingMessage, res: ServerResponse) {
    const id = decodeURIComponent(
      (req.url ?? "").slice(INVOCATION_STATUS_PREFIX.length).split("?")[0] ?? "",
    );
    if (req.method !== "GET") {
      res.setHeader("Allow", "GET");
      return send(res, 405, { error: "Use GET" });
    }
    if (!id || id.length > 100 || id.includes("/")) {
      return send(res, 404, { error: "Use /api/invocations/{invocationId}" });
    }
    const auth = await authenticate(req);
    if (auth.error) return send(res, 401, { error: auth.error });
    if (!auth.userId) {
      return send(res, 401, { error: "Sign in or send Authorization: Bearer <API key>" });
    }
    const view = await findAsyncInvocation(services.db, auth.userId, id);
    if (!view) return send(res, 404, { error: `No async invocation ${id}` });
    send(res, 200, view);
  };
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
