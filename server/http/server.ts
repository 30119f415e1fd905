import "./load-context";
import { timingSafeEqual } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import path from "node:path";
import { createRequestHandler } from "@remix-run/express";
import type { AppLoadContext, ServerBuild } from "@remix-run/node";
import { nodeHTTPRequestHandler } from "@trpc/server/adapters/node-http";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import express from "express";
import { appRouter, createCaller } from "../root";
import type { Services } from "../services";
import { createContext } from "../trpc";
import { isCrossOriginRequest } from "./cross-origin";
import { createInvocationStatusHandler, INVOCATION_STATUS_PREFIX } from "./invocation-status";
import { createInvokeHandler, INVOKE_PREFIX } from "./invoke";

const TRPC_PREFIX = "/api/trpc/";
/** Browser form posts and tRPC bodies; function code uploads stay far below this. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * The one HTTP server: cheap checks and the API paths are handled on raw
 * `node:http` first; pages and assets go to Express + Remix behind them.
 */
export function createHttpServer(services: Services, build: ServerBuild): http.Server {
  const { config } = services;
  const trustedOrigins = config.baseUrl ? [new URL(config.baseUrl).origin] : [];
  const remix = createRemixApp(services, build);
  const invoke = createInvokeHandler(services);
  const invocationStatus = createInvocationStatusHandler(services);

  return http.createServer((req, res) => {
    const url = req.url ?? "/";
    // The hot path first; it applies its own body limit and, for cookie-authenticated
    // calls only, the cross-origin check (public functions may be called from any site).
    if (url.startsWith(INVOKE_PREFIX)) {
      invoke(req, res).catch((error) => {
        services.log(`[invoke] ${(error as Error).stack ?? error}`);
        if (!res.headersSent) sendJson(res, 500, { error: "The call failed inside Cloudless" });
        else res.destroy();
      });
      return;
    }
    if (url.startsWith(INVOCATION_STATUS_PREFIX)) {
      invocationStatus(req, res).catch((error) => {
        services.log(`[invocation status] ${(error as Error).stack ?? error}`);
        if (!res.headersSent) sendJson(res, 500, { error: "Could not read the invocation" });
      });
      return;
    }
    if (url === "/health" || url.startsWith("/health?")) return serveHealth(services, res);
    if (url === "/metrics" || url.startsWith("/metrics?")) {
      serveMetrics(services, req, res).catch((error) => {
        services.log(`[metrics] ${(error as Error).message}`);
        if (!res.headersSent) sendJson(res, 500, { error: "Could not collect metrics" });
      });
      return;
    }
    if (isCrossOriginRequest(req.method ?? "GET", req.headers, trustedOrigins)) {
      return sendJson(res, 403, {
        error: "Cross-origin request refused (CSRF protection). Submit the form from this site.",
      });
    }
    const length = Number(req.headers["content-length"] ?? 0);
    if (length > MAX_BODY_BYTES) {
      return sendJson(res, 413, { error: `Request body over ${MAX_BODY_BYTES} bytes` });
    }
    if (url.startsWith(TRPC_PREFIX)) return handleTrpc(services, req, res);
    remix(req, res);
  });
}

/**
 * For the balancer and the operator: 200 while this node takes calls, 503
 * once it drains (stopping). Engines are listed with their state; an engine
 * being down does not make the node unhealthy (calls to it answer 503 alone).
 */
function serveHealth(services: Services, res: ServerResponse) {
  const engines = services.config.engines.map((name) => {
    const status = services.runners.engineStatus(name);
    return status.available
      ? { name, available: true }
      : { name, available: false, reason: status.reason };
  });
  res.setHeader("Cache-Control", "no-store");
  sendJson(res, services.draining ? 503 : 200, {
    node: services.config.node.id,
    status: services.draining ? "draining" : "up",
    engines,
  });
}

/** Prometheus text format, for a scraper holding METRICS_TOKEN. */
async function serveMetrics(services: Services, req: IncomingMessage, res: ServerResponse) {
  const token = services.config.metricsToken;
  if (!token) {
    return sendJson(res, 404, {
      error: "Metrics are off: set METRICS_TOKEN to enable GET /metrics",
    });
  }
  const given = (req.headers.authorization ?? "").replace(/^Bearer\s+/i, "");
  if (!safeEqual(given, token)) {
    res.setHeader("WWW-Authenticate", 'Bearer realm="metrics"');
    return sendJson(res, 401, { error: "Send Authorization: Bearer <METRICS_TOKEN>" });
  }
  const { registry } = services.metrics;
  const body = await registry.metrics();
  res.writeHead(200, { "content-type": registry.contentType, "cache-control": "no-store" });
  res.end(body);
}

function safeEqual(a: string, b: string) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function handleTrpc(services: Services, req: IncomingMessage, res: ServerResponse) {
  const pathname = (req.url ?? "").slice(TRPC_PREFIX.length).split("?")[0] ?? "";
  return nodeHTTPRequestHandler({
    req,
    res,
    path: decodeURIComponent(pathname),
    router: appRouter,
    maxBodySize: MAX_BODY_BYTES,
    onError({ error, path }) {
      // Clients see only a generic message for these (server/trpc.ts); keep the cause here.
      if (getHTTPStatusCodeFromError(error) >= 500) {
        services.log(
          `tRPC ${path ?? "?"} failed: ${error.cause?.stack ?? error.stack ?? error.message}`,
        );
      }
    },
    createContext: ({ req }) => createContext(services, requestInfo(services, req), new Headers()),
    // Set-Cookie from procedures (login, logout, reset). This runs after they
    // have, unlike createContext, where the headers would still be empty.
    responseMeta: ({ ctx }) => ({ headers: ctx?.resHeaders }),
  });
}

export function clientIp(services: Services, req: IncomingMessage): string {
  if (services.config.trustProxy) {
    const forwarded = req.headers["x-forwarded-for"];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim();
    if (first) return first;
  }
  return req.socket.remoteAddress ?? "unknown";
}

/** A loopback peer that no proxy relayed: the machine's own browser or tools. */
export function isFromThisHost(req: Pick<IncomingMessage, "headers" | "socket">): boolean {
  if (req.headers["x-forwarded-for"] !== undefined || req.headers.forwarded !== undefined) {
    return false;
  }
  const peer = req.socket.remoteAddress ?? "";
  return peer === "::1" || /^(::ffff:)?127\./.test(peer);
}

/** The local end of the request's connection, as an origin (IPv6 in brackets). */
function selfOrigin(req: IncomingMessage): string {
  const { localAddress = "127.0.0.1", localPort } = req.socket;
  const host = localAddress.includes(":") ? `[${localAddress}]` : localAddress;
  return `http://${host}:${localPort}`;
}

function requestInfo(services: Services, req: IncomingMessage) {
  const headers = new Headers();
  for (const [key, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(key, v);
    else if (value !== undefined) headers.set(key, value);
  }
  const proto = (req.socket as { encrypted?: boolean }).encrypted ? "https" : "http";
  return {
    url: `${proto}://${req.headers.host ?? "localhost"}${req.url ?? "/"}`,
    headers,
    ip: clientIp(services, req),
  };
}

function createRemixApp(services: Services, build: ServerBuild) {
  const app = express();
  app.disable("x-powered-by");
  if (services.config.trustProxy) app.set("trust proxy", true);
  // Fingerprinted assets: cache forever.
  app.use(
    "/build",
    express.static(path.resolve("public/build"), { immutable: true, maxAge: "1y" }),
  );
  app.use(express.static(path.resolve("public"), { maxAge: "1h" }));
  app.all(
    "*",
    createRequestHandler({
      build,
      // Remix's development mode shows server error details on error pages; we never
      // run `remix dev`, so production mode is right for every start.
      mode: "production",
      getLoadContext: (req): AppLoadContext => ({
        services,
        clientIp: clientIp(services, req),
        fromThisHost: isFromThisHost(req),
        selfOrigin: selfOrigin(req),
        api: { createContext, createCaller },
      }),
    }),
  );
  return app;
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(payload),
  });
  res.end(payload);
}
