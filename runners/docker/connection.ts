import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import path from "node:path";
import Docker from "dockerode";
import type { RunnerConfig } from "../config";

export type DockerSettings = RunnerConfig["docker"];

const LOCAL_SOCKET = "/var/run/docker.sock";

/** Where the engine is, parsed from a DOCKER_HOST-style address. */
export type DockerAddress =
  | { kind: "unix"; socketPath: string }
  | { kind: "tcp"; host: string; port: number };

/**
 * Parses DOCKER_HOST as the Docker CLI does: unix:///path or tcp://host[:port]
 * (2376 with TLS, 2375 without); unset = the local socket, or
 * tcp://localhost:2376 when TLS is asked for.
 */
export function parseDockerHost(host: string | undefined, tls: boolean): DockerAddress {
  if (!host) {
    return tls
      ? { kind: "tcp", host: "localhost", port: 2376 }
      : { kind: "unix", socketPath: LOCAL_SOCKET };
  }
  if (host.startsWith("unix://"))
    return { kind: "unix", socketPath: host.slice(7) || LOCAL_SOCKET };
  if (!host.startsWith("tcp://")) {
    throw new Error(`DOCKER_HOST must be unix:///path or tcp://host:port (got "${host}")`);
  }
  const url = new URL(host.replace(/^tcp:/, "http:"));
  if (!url.hostname || (url.pathname !== "/" && url.pathname !== "")) {
    throw new Error(`DOCKER_HOST must be tcp://host:port with no path (got "${host}")`);
  }
  return {
    kind: "tcp",
    // URL keeps the brackets of an IPv6 address; sockets want it bare.
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port ? Number(url.port) : tls ? 2376 : 2375,
  };
}

export function describeDockerAddress(address: DockerAddress, tls: boolean): string {
  if (address.kind === "unix") return `unix://${address.socketPath}`;
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `tcp://${host}:${address.port}${tls ? " (TLS)" : ""}`;
}

/** A dockerode client for the configured engine, or why there cannot be one. */
export type DockerConnection =
  | {
      ok: true;
      docker: Docker;
      /** e.g. "tcp://10.0.0.5:2376 (TLS)", for messages. */
      where: string;
      /** On another host: nothing on this node's filesystem is visible to its containers. */
      remote: boolean;
    }
  | { ok: false; where: string; reason: string };

/**
 * Opens the client like the Docker CLI: with TLS on, the engine's certificate
 * is verified against DOCKER_CERT_PATH/ca.pem, and cert.pem + key.pem (when
 * present) are the client's certificate. Every option is given explicitly:
 * docker-modem would otherwise fill gaps from process.env itself.
 */
export function openDockerConnection(
  settings: DockerSettings,
  options: { freshConnections?: boolean } = {},
): DockerConnection {
  const tls = settings.tls;
  let address: DockerAddress;
  try {
    address = parseDockerHost(settings.host, Boolean(tls));
  } catch (error) {
    return { ok: false, where: settings.host ?? LOCAL_SOCKET, reason: (error as Error).message };
  }
  const where = describeDockerAddress(address, Boolean(tls));
  try {
    const connection = open(address, where, tls);
    if (connection.ok && options.freshConnections) withoutKeepAlive(connection.docker);
    return connection;
  } catch (error) {
    // docker-modem reads DOCKER_CERT_PATH from process.env on its own and throws on missing files.
    return { ok: false, where, reason: (error as Error).message };
  }
}

function open(address: DockerAddress, where: string, tls: DockerSettings["tls"]): DockerConnection {
  if (address.kind === "unix") {
    return {
      ok: true,
      where,
      remote: false,
      docker: new Docker({ socketPath: address.socketPath, host: undefined, protocol: undefined }),
    };
  }
  const base = { host: address.host, port: address.port, socketPath: undefined };
  if (!tls) {
    return {
      ok: true,
      where,
      remote: true,
      docker: new Docker({
        ...base,
        protocol: "http",
        ca: undefined,
        cert: undefined,
        key: undefined,
      }),
    };
  }
  const files = readCertFiles(tls.certPath);
  if (!files.ok) return { ok: false, where, reason: files.reason };
  return {
    ok: true,
    where,
    remote: true,
    docker: new Docker({ ...base, protocol: "https", ...files.pem }),
  };
}

/** Every request of this client on a new connection (docker-modem takes an agent; dockerode's types omit it). */
function withoutKeepAlive(docker: Docker) {
  const modem = docker.modem as { protocol?: string; agent?: http.Agent };
  modem.agent =
    modem.protocol === "https"
      ? new https.Agent({ keepAlive: false })
      : new http.Agent({ keepAlive: false });
}

function readCertFiles(
  dir: string,
): { ok: true; pem: { ca: Buffer; cert?: Buffer; key?: Buffer } } | { ok: false; reason: string } {
  const read = (name: string) => {
    try {
      return fs.readFileSync(path.join(dir, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  };
  try {
    const ca = read("ca.pem");
    if (!ca) {
      return {
        ok: false,
        reason: `DOCKER_TLS_VERIFY is set but ${path.join(dir, "ca.pem")} does not exist (DOCKER_CERT_PATH holds ca.pem, cert.pem and key.pem)`,
      };
    }
    const cert = read("cert.pem");
    const key = read("key.pem");
    if (Boolean(cert) !== Boolean(key)) {
      return {
        ok: false,
        reason: `${path.join(dir, cert ? "key.pem" : "cert.pem")} is missing: the client certificate needs both cert.pem and key.pem`,
      };
    }
    // Like the Docker CLI, no cert.pem/key.pem means no client certificate (an engine with --tlsverify refuses that).
    return { ok: true, pem: { ca, cert, key } };
  } catch (error) {
    return {
      ok: false,
      reason: `Cannot read the TLS files in ${dir}: ${(error as Error).message}`,
    };
  }
}

/** Pings the engine, giving up after `timeoutMs` (an unreachable host must not hang the start). */
export async function pingDocker(docker: Docker, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One readable line from a failed engine request: OpenSSL's verbose form
 * ("80CC…:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad
 * certificate:…") shortened to what went wrong, whitespace collapsed.
 */
export function describeDockerError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const openssl = /^[0-9A-F]+:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):/.exec(message);
  const text = openssl ? openssl[1]! : message;
  return text.replace(/\s+/g, " ").trim();
}
