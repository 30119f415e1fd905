import type { AppLoadContext } from "@remix-run/node";
import { type ConsoleAnswer, type ConsoleCall, queryString } from "./console";

/**
 * Runs the console's call through the real invocation route, over HTTP from
 * this server to itself (`selfOrigin`: never out through a proxy), with the
 * signed-in user's session cookie: the same path, auth, limits and record as
 * any client's call, and the answer exactly as a client gets it.
 */
export async function invokeThroughRoute(
  request: Request,
  context: AppLoadContext,
  fn: { userId: string; handler: string },
  call: ConsoleCall,
): Promise<ConsoleAnswer> {
  const path = [fn.userId, fn.handler, call.engine].map(encodeURIComponent).join("/");
  const method = call.mode === "json" ? "POST" : "GET";
  const url = `${context.selfOrigin}/api/function/${path}${method === "GET" ? queryString(call.params) : ""}`;
  const headers = new Headers({ accept: "application/json" });
  const cookie = request.headers.get("cookie");
  if (cookie) headers.set("cookie", cookie);
  // The page's own form post already passed the CSRF check; this request is
  // that post's continuation, so it says so rather than look like a browser's.
  headers.set("sec-fetch-site", "same-origin");
  if (method === "POST") headers.set("content-type", "application/json");
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: method === "POST" ? call.body : undefined,
      // The user leaving the page abandons the wait (the call itself still finishes and is recorded).
      signal: request.signal,
    });
  } catch (error) {
    if (request.signal.aborted) throw error;
    return {
      http: 502,
      method,
      engine: call.engine,
      body: { error: "Could not reach the invocation route", reason: (error as Error).message },
    };
  }
  const text = await response.text();
  let body: ConsoleAnswer["body"];
  try {
    body = JSON.parse(text);
  } catch {
    body = { error: `HTTP ${response.status}: the route answered something other than JSON` };
  }
  return { http: response.status, method, engine: call.engine, body };
}
