import http from "node:http";
import type { Duplex } from "node:stream";

/**
 * How the agent is reached: a unix socket (local Docker), a TCP port (Nanos),
 * or a stream opened on demand (a remote Docker engine's exec relay, see
 * docker/exec-relay.ts).
 */
export type AgentAddress =
  | { socketPath: string }
  | { host: string; port: number }
  | { connect: () => Promise<Duplex> };

/** A keep-alive agent whose connections are streams some other transport opens. */
class StreamAgent extends http.Agent {
  constructor(private readonly open: () => Promise<Duplex>) {
    super({ keepAlive: true, maxSockets: 1 });
  }

  override createConnection(
    _options: http.ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): undefined {
    // Node's agent waits for the callback when nothing is returned.
    this.open().then(
      (stream) => callback?.(null, stream),
      (error: Error) => callback?.(new AgentConnectionError(error.message), undefined as never),
    );
    return undefined;
  }
}

export class AgentConnectionError extends Error {}
/** The agent took longer than the request's `timeoutMs` (it may still be running). */
export class AgentTimeoutError extends AgentConnectionError {}

export interface AgentResponse<T> {
  status: number;
  body: T;
}

/** What /run answers (docs/agent-protocol.md). */
export interface RunResult {
  status: number;
  result: unknown;
  stdout: string;
  stderr: string;
  durationMs: number;
  error: string | null;
  truncated: { stdout: boolean; stderr: boolean; result?: boolean };
  /** The call left threads, processes or timers running: the instance is not reused. */
  lingering?: boolean;
}

/**
 * HTTP/1.1 keep-alive client of one instance's agent, over its unix socket
 * (Docker), a loopback TCP port (Nanos) or an exec relay (remote Docker). One
 * connection, reused for every call: on a socket the round trip stays in the
 * tens of microseconds.
 */
export class AgentClient {
  private readonly agent: http.Agent;
  private readonly target: http.RequestOptions;

  constructor(readonly address: AgentAddress) {
    if ("connect" in address) {
      this.agent = new StreamAgent(address.connect);
      // Only names the connection in the agent's pool; nothing dials it.
      this.target = { host: "agent.invalid", port: 80 };
    } else {
      this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      this.target = address;
    }
  }

  request<T>(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<AgentResponse<T>> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          ...this.target,
          agent: this.agent,
          method,
          path,
          signal: options.signal,
          timeout: options.timeoutMs,
          headers: payload
            ? { "content-type": "application/json", "content-length": payload.byteLength }
            : undefined,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", (e) => reject(new AgentConnectionError(e.message)));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            try {
              resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : null) as T });
            } catch {
              reject(new AgentConnectionError(`Agent sent invalid JSON (${res.statusCode})`));
            }
          });
        },
      );
      req.on("timeout", () => req.destroy(new AgentTimeoutError("Agent did not answer in time")));
      req.on("error", (e) =>
        reject(e instanceof AgentConnectionError ? e : new AgentConnectionError(e.message)),
      );
      req.end(payload);
    });
  }

  /** Polls /health until the agent answers, or fails after `timeoutMs`. */
  async waitReady(timeoutMs: number, isAlive: () => Promise<boolean> | boolean = () => true) {
    const deadline = Date.now() + timeoutMs;
    let delay = 2;
    let lastError = "";
    while (Date.now() < deadline) {
      try {
        const res = await this.request<{ ok: boolean }>("GET", "/health", undefined, {
          timeoutMs: Math.max(50, deadline - Date.now()),
        });
        if (res.status === 200 && res.body?.ok) return;
        lastError = `health answered ${res.status}`;
      } catch (error) {
        lastError = (error as Error).message;
      }
      if (!(await isAlive()))
        throw new AgentConnectionError(`Instance exited before its agent was ready (${lastError})`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 50);
    }
    throw new AgentConnectionError(`Agent not ready after ${timeoutMs} ms (${lastError})`);
  }

  close() {
    this.agent.destroy();
  }
}
