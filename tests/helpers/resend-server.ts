import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/** One message as Resend's API received it. */
export interface ReceivedEmail {
  id: string;
  from: string;
  to: string | string[];
  subject: string;
  html?: string;
  text?: string;
  /** Request headers, lower-cased (authorization, user-agent, content-type…). */
  headers: http.IncomingHttpHeaders;
}

export interface ResendFailure {
  status: number;
  body: { statusCode: number; name: string; message: string };
}

export interface ResendServer {
  /** Base URL for RESEND_BASE_URL (the SDK appends `/emails`). */
  url: string;
  /** Accepted messages, in arrival order. */
  readonly emails: ReceivedEmail[];
  /** Every request's status, accepted or not (to check that a refusal was seen). */
  readonly answered: number[];
  /** Answer every send with this error until `recover()` (an outage or a quota). */
  fail(failure: ResendFailure): void;
  recover(): void;
  /** Resolves with the first accepted message that matches, waiting for it if need be. */
  waitForEmail(
    match: (email: ReceivedEmail) => boolean,
    timeoutMs?: number,
  ): Promise<ReceivedEmail>;
  close(): Promise<void>;
}

export const RESEND_OUTAGE: ResendFailure = {
  status: 500,
  body: {
    statusCode: 500,
    name: "application_error",
    message: "An unexpected error occurred.",
  },
};

/**
 * A local stand-in for the Resend API, enough for the SDK's `emails.send`:
 * `POST /emails` with `Authorization: Bearer <key>` and a JSON body
 * {from, to, subject, html?, text?}; it answers `{ "id": "<uuid>" }`, 401 for
 * a missing or wrong key, 422 for a missing field, in Resend's error shape
 * ({statusCode, name, message}) so the SDK reports them as it would in
 * production. (The real service answers 403 `invalid_api_key` for a key it
 * does not know; 401 covers both here, which the SDK treats alike.)
 */
export async function startResendServer(options: { apiKey: string }): Promise<ResendServer> {
  const emails: ReceivedEmail[] = [];
  const answered: number[] = [];
  const waiters = new Set<{
    match: (e: ReceivedEmail) => boolean;
    resolve: (e: ReceivedEmail) => void;
  }>();
  let failure: ResendFailure | null = null;

  const server = http.createServer(async (req, res) => {
    const reply = (status: number, body: unknown) => {
      answered.push(status);
      const payload = JSON.stringify(body);
      res.writeHead(status, { "Content-Type": "application/json" }).end(payload);
    };
    const error = (statusCode: number, name: string, message: string) =>
      reply(statusCode, { statusCode, name, message });

    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);

    if (req.method !== "POST" || req.url !== "/emails") {
      return error(404, "not_found", "The requested endpoint does not exist.");
    }
    const auth = req.headers.authorization;
    if (!auth?.startsWith("Bearer ")) {
      return error(401, "missing_api_key", "Missing API key in the authorization header.");
    }
    if (auth.slice("Bearer ".length) !== options.apiKey) {
      return error(401, "invalid_api_key", "API key is invalid");
    }
    if (failure) return reply(failure.status, failure.body);

    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return error(422, "validation_error", "Invalid JSON body.");
    }
    for (const field of ["from", "to", "subject"]) {
      const value = body[field];
      if (value === undefined || value === null || value === "") {
        return error(422, "missing_required_field", `Missing \`${field}\` field.`);
      }
    }
    if (!body.html && !body.text) {
      return error(422, "missing_required_field", "Missing `html` or `text` field.");
    }
    const email: ReceivedEmail = {
      id: randomUUID(),
      from: String(body.from),
      to: body.to as string | string[],
      subject: String(body.subject),
      html: typeof body.html === "string" ? body.html : undefined,
      text: typeof body.text === "string" ? body.text : undefined,
      headers: req.headers,
    };
    emails.push(email);
    for (const waiter of waiters) {
      if (waiter.match(email)) {
        waiters.delete(waiter);
        waiter.resolve(email);
      }
    }
    reply(200, { id: email.id });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    emails,
    answered,
    fail(next) {
      failure = next;
    },
    recover() {
      failure = null;
    },
    waitForEmail(match, timeoutMs = 5_000) {
      const found = emails.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          resolve: (e: ReceivedEmail) => {
            clearTimeout(timer);
            resolve(e);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching email reached the Resend server within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
