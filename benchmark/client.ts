import http from "node:http";
import type { EngineName } from "../runners/types";
import type { InvocationResponse } from "../server/client/index";

/** One call as the benchmark saw it. */
export interface CallResult {
  /** Wall time from sending the request to the last byte of the answer. */
  ms: number;
  httpStatus: number;
  /** The body, when it parsed as an invocation answer. */
  body?: InvocationResponse;
  /** Transport failure or unexpected answer. */
  error?: string;
}

export interface Target {
  userId: string;
  handler: string;
}

/**
 * A lean caller of `/api/function/{userId}/{handler}/{engine}` on node:http
 * with keep-alive sockets. The SDK's invokeFunction goes through fetch
 * (undici), whose own overhead per call is a sizeable part of a warm call;
 * the benchmark measures the route, not the client, so it keeps the client
 * as thin as it can.
 */
export class InvokeClient {
  private readonly agent: http.Agent;
  private readonly url: URL;

  constructor(
    baseUrl: string,
    private readonly apiKey: string,
    private readonly engine: EngineName,
    connections = 1,
  ) {
    this.url = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  }

  /**
   * GET with no query values (the handler gets an empty event). `fresh` opens
   * a new connection: used after idle pauses, when a kept-alive socket may be
   * closed by the server at the very moment the request goes out.
   */
  call(target: Target, options: { fresh?: boolean } = {}): Promise<CallResult> {
    const path = `/api/function/${encodeURIComponent(target.userId)}/${encodeURIComponent(target.handler)}/${this.engine}`;
    return new Promise((resolve) => {
      const started = performance.now();
      const req = http.request(
        {
          host: this.url.hostname,
          port: this.url.port,
          path,
          method: "GET",
          agent: options.fresh ? false : this.agent,
          headers: { authorization: `Bearer ${this.apiKey}` },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const ms = performance.now() - started;
            const text = Buffer.concat(chunks).toString("utf8");
            const httpStatus = res.statusCode ?? 0;
            try {
              const body = JSON.parse(text) as InvocationResponse & { reason?: string };
              if (httpStatus !== 200) {
                const reason = body.reason ? `: ${body.reason}` : "";
                resolve({
                  ms,
                  httpStatus,
                  body,
                  error: `HTTP ${httpStatus} ${body.error ?? ""}${reason}`,
                });
              } else {
                resolve({ ms, httpStatus, body });
              }
            } catch {
              resolve({
                ms,
                httpStatus,
                error: `HTTP ${httpStatus}, not JSON: ${text.slice(0, 200)}`,
              });
            }
          });
          res.on("error", (e) =>
            resolve({
              ms: performance.now() - started,
              httpStatus: res.statusCode ?? 0,
              error: e.message,
            }),
          );
        },
      );
      req.on("error", (e) =>
        resolve({ ms: performance.now() - started, httpStatus: 0, error: e.message }),
      );
      req.end();
    });
  }

  close() {
    this.agent.destroy();
  }
}

/** Why a call failed (transport, HTTP status, the function's status or result), or undefined. */
export function failureOf(result: CallResult): string | undefined {
  if (result.error) return result.error;
  const body = result.body!;
  if (body.status !== 0) return `status ${body.status}: ${body.stderr || body.error || ""}`.trim();
  if (JSON.stringify(body.result) !== JSON.stringify({ ok: true })) {
    return `unexpected result ${JSON.stringify(body.result)}`;
  }
  return undefined;
}
