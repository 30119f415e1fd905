import type { InvocationResponse } from "../../server/client";
import type { EngineName } from "./latency";

/**
 * The invocation console's call, as the form holds it and as a client would
 * make it: query parameters in order (GET) or a JSON body (POST). The page
 * shows the same call as a `curl` line and an SDK snippet, built here, so the
 * three never disagree.
 */

export type ConsoleMode = "query" | "json";

export interface ParamRow {
  key: string;
  value: string;
}

export interface ConsoleCall {
  engine: EngineName;
  mode: ConsoleMode;
  params: ParamRow[];
  body: string;
}

/** What the invocation route answered a refused call (4xx/5xx): a message, sometimes a reason. */
export interface RouteRefusal {
  error: string;
  reason?: string;
}

/** The route's answer as a client receives it: the HTTP status and the JSON body. */
export interface ConsoleAnswer {
  http: number;
  method: "GET" | "POST";
  engine: EngineName;
  body: InvocationResponse | RouteRefusal;
}

export function ranToCompletion(body: ConsoleAnswer["body"]): body is InvocationResponse {
  return "invocationId" in body && "timings" in body;
}

/** The most rows the console sends; far more than argv-style functions take. */
export const MAX_PARAMS = 50;

/**
 * The query pairs, in row order. An empty row is skipped; a value without a
 * name is sent as `arg<i>`, the way the SDK names positional arguments.
 */
export function queryPairs(params: ParamRow[]): Array<[string, string]> {
  return params
    .filter((p) => p.key.trim() !== "" || p.value !== "")
    .slice(0, MAX_PARAMS)
    .map((p, i) => [p.key.trim() || `arg${i}`, p.value]);
}

export function queryString(params: ParamRow[]): string {
  const query = new URLSearchParams(queryPairs(params));
  return query.size > 0 ? `?${query}` : "";
}

/** The JSON body's problem, or null when it parses (an empty body is allowed: the event is {}). */
export function jsonProblem(body: string): string | null {
  if (body.trim() === "") return null;
  try {
    JSON.parse(body);
    return null;
  } catch (error) {
    return `Not valid JSON: ${(error as Error).message}`;
  }
}

/** The console form's fields (`mode`, `engine`, `body`, `param.<i>.key|value`). */
export function readConsoleForm(form: FormData): ConsoleCall {
  const text = (name: string) => {
    const value = form.get(name);
    return typeof value === "string" ? value : "";
  };
  const rows = new Map<number, ParamRow>();
  for (const [name, value] of form) {
    const match = /^param\.(\d{1,3})\.(key|value)$/.exec(name);
    if (!match || typeof value !== "string") continue;
    const index = Number(match[1]);
    const row = rows.get(index) ?? { key: "", value: "" };
    row[match[2] as "key" | "value"] = value;
    rows.set(index, row);
  }
  return {
    engine: text("engine") === "nanos" ? "nanos" : "docker",
    mode: text("mode") === "json" ? "json" : "query",
    params: [...rows.entries()].sort((a, b) => a[0] - b[0]).map(([, row]) => row),
    body: text("body"),
  };
}

/** A word for the shell, in single quotes (which keep everything literal but the quote itself). */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The body on one line when it is JSON; as typed otherwise. */
function compactBody(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body));
  } catch {
    return body;
  }
}

export interface CallTarget {
  /** The function's URL for the call's engine (no query). */
  url: string;
  isPublic: boolean;
}

/**
 * The same call as a curl command. A private function's key is left to the
 * shell (`$CLOUDLESS_API_KEY`), so the line can be pasted without a secret in it.
 */
export function curlCommand(target: CallTarget, call: ConsoleCall): string {
  const lines = ["curl"];
  if (call.mode === "json") lines[0] += " -X POST";
  if (!target.isPublic) lines.push(`-H "Authorization: Bearer $CLOUDLESS_API_KEY"`);
  if (call.mode === "json") {
    lines.push(`-H "Content-Type: application/json"`);
    lines.push(`-d ${shellQuote(call.body.trim() === "" ? "{}" : compactBody(call.body))}`);
    lines.push(shellQuote(target.url));
  } else {
    lines.push(shellQuote(`${target.url}${queryString(call.params)}`));
  }
  // One option per line once there are options: readable, and still one command.
  return lines.length <= 2 ? lines.join(" ") : `${lines[0]} ${lines.slice(1).join(" \\\n  ")}`;
}

/**
 * The same call through the SDK (`invokeFunction` in cloudless/client). Its
 * `args` are positional (sent as arg0, arg1 …), which is what a script reads;
 * a handler reads names, so its query becomes `event` (a POST with the same
 * object as the event).
 */
export function sdkSnippet(
  target: { origin: string; userId: string; handler: string; style: "script" | "handler" },
  call: ConsoleCall,
): string {
  let payload: string;
  if (call.mode === "query") {
    const pairs = queryPairs(call.params);
    payload =
      target.style === "script"
        ? `args: ${JSON.stringify(pairs.map(([, v]) => v))}`
        : `event: ${JSON.stringify(Object.fromEntries(pairs))}`;
  } else {
    payload = `event: ${call.body.trim() === "" ? "{}" : compactBody(call.body)}`;
  }
  const request = `{ userId: ${JSON.stringify(target.userId)}, handler: ${JSON.stringify(target.handler)}, engine: "${call.engine}", ${payload} }`;
  return [
    `import { invokeFunction } from "cloudless/client";`,
    "",
    "const answer = await invokeFunction(",
    `  { url: ${JSON.stringify(target.origin)}, apiKey: process.env.CLOUDLESS_API_KEY! },`,
    `  ${request},`,
    ");",
    `console.log(answer.${target.style === "script" ? "stdout" : "result"}, answer.start, answer.timings);`,
  ].join("\n");
}
