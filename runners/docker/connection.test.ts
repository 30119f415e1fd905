import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { describeDockerError, openDockerConnection, parseDockerHost } from "./connection";

const dirs: string[] = [];
function certDir(files: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-certs-"));
  dirs.push(dir);
  for (const name of files) fs.writeFileSync(path.join(dir, name), `-- ${name} --\n`);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const limits = { agentTransport: "auto" as const, cpus: 1, pidsLimit: 64, tmpMb: 64 };

describe("DOCKER_HOST, read as the Docker CLI reads it", () => {
  it("unix sockets, tcp with the conventional ports, IPv6 brackets removed", () => {
    expect(parseDockerHost(undefined, false)).toEqual({
      kind: "unix",
      socketPath: "/var/run/docker.sock",
    });
    expect(parseDockerHost("unix:///run/x.sock", false)).toEqual({
      kind: "unix",
      socketPath: "/run/x.sock",
    });
    expect(parseDockerHost("tcp://10.0.0.5", false)).toEqual({
      kind: "tcp",
      host: "10.0.0.5",
      port: 2375,
    });
    expect(parseDockerHost("tcp://10.0.0.5", true)).toEqual({
      kind: "tcp",
      host: "10.0.0.5",
      port: 2376,
    });
    expect(parseDockerHost("tcp://docker.internal:4243", true)).toEqual({
      kind: "tcp",
      host: "docker.internal",
      port: 4243,
    });
    expect(parseDockerHost("tcp://[::1]:2376", true)).toEqual({
      kind: "tcp",
      host: "::1",
      port: 2376,
    });
    // TLS with no host: the CLI's default, tcp://localhost:2376.
    expect(parseDockerHost(undefined, true)).toEqual({
      kind: "tcp",
      host: "localhost",
      port: 2376,
    });
  });

  it("refuses what it cannot drive, saying what it expects", () => {
    expect(() => parseDockerHost("ssh://me@host", false)).toThrow(
      /unix:\/\/\/path or tcp:\/\/host:port/,
    );
    expect(() => parseDockerHost("tcp://host:2376/some/path", true)).toThrow(/no path/);
    const refused = openDockerConnection({ ...limits, host: "npipe:////./pipe/docker_engine" });
    expect(refused).toMatchObject({ ok: false, reason: expect.stringMatching(/must be unix/) });
  });
});

describe("opening the connection", () => {
  it("local socket and plain tcp: no TLS; tcp is remote", () => {
    const local = openDockerConnection({ ...limits });
    expect(local).toMatchObject({ ok: true, remote: false, where: "unix:///var/run/docker.sock" });
    const plain = openDockerConnection({ ...limits, host: "tcp://10.0.0.5:2375" });
    expect(plain).toMatchObject({ ok: true, remote: true, where: "tcp://10.0.0.5:2375" });
    if (plain.ok)
      expect(plain.docker.modem).toMatchObject({ protocol: "http", host: "10.0.0.5", port: 2375 });
  });

  it("TLS: https with the CA and the client certificate from the folder", () => {
    const dir = certDir(["ca.pem", "cert.pem", "key.pem"]);
    const tls = openDockerConnection({ ...limits, host: "tcp://10.0.0.5", tls: { certPath: dir } });
    expect(tls).toMatchObject({ ok: true, remote: true, where: "tcp://10.0.0.5:2376 (TLS)" });
    if (!tls.ok) return;
    const modem = tls.docker.modem as unknown as Record<string, unknown>;
    expect(modem.protocol).toBe("https");
    expect(String(modem.ca)).toBe("-- ca.pem --\n");
    expect(String(modem.cert)).toBe("-- cert.pem --\n");
    expect(String(modem.key)).toBe("-- key.pem --\n");
  });

  it("TLS without cert.pem and key.pem: no client certificate (the engine decides)", () => {
    const dir = certDir(["ca.pem"]);
    const tls = openDockerConnection({ ...limits, host: "tcp://10.0.0.5", tls: { certPath: dir } });
    expect(tls.ok).toBe(true);
    if (tls.ok) expect((tls.docker.modem as unknown as { cert?: unknown }).cert).toBeUndefined();
  });

  it("TLS with files missing: not a crash, a reason naming the file", () => {
    const none = certDir([]);
    expect(openDockerConnection({ ...limits, host: "tcp://h", tls: { certPath: none } })).toEqual({
      ok: false,
      where: "tcp://h:2376 (TLS)",
      reason: `DOCKER_TLS_VERIFY is set but ${path.join(none, "ca.pem")} does not exist (DOCKER_CERT_PATH holds ca.pem, cert.pem and key.pem)`,
    });
    const half = certDir(["ca.pem", "cert.pem"]);
    expect(
      openDockerConnection({ ...limits, host: "tcp://h", tls: { certPath: half } }),
    ).toMatchObject({
      ok: false,
      reason: `${path.join(half, "key.pem")} is missing: the client certificate needs both cert.pem and key.pem`,
    });
  });
});

describe("engine errors in one line", () => {
  it("shortens OpenSSL's form and collapses whitespace", () => {
    expect(
      describeDockerError(
        new Error(
          "80CC9360F57F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 42\n",
        ),
      ),
    ).toBe("sslv3 alert bad certificate");
    expect(
      describeDockerError(
        new Error(
          "(HTTP code 400) unexpected - Client sent an HTTP request to an HTTPS server.\n ",
        ),
      ),
    ).toBe("(HTTP code 400) unexpected - Client sent an HTTP request to an HTTPS server.");
    expect(describeDockerError(new Error("connect ECONNREFUSED 127.0.0.1:1"))).toBe(
      "connect ECONNREFUSED 127.0.0.1:1",
    );
  });
});
