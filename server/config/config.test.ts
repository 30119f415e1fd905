import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "./config";
import { ConfigError } from "./env";

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-config-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe("loadConfig", () => {
  it("generates a session secret once, in a 0600 file under DATA_DIR, and reuses it", () => {
    const dataDir = path.join(tempDir(), "nested", "data");
    const first = loadConfig({ DATA_DIR: dataDir });
    const file = path.join(dataDir, "session-secret");
    expect(first.dataDir).toBe(dataDir);
    expect(first.sessionSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fs.readFileSync(file, "utf8").trim()).toBe(first.sessionSecret);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    // A restart keeps the secret, so sessions survive it.
    expect(loadConfig({ DATA_DIR: dataDir }).sessionSecret).toBe(first.sessionSecret);
  });

  it("replaces a too-short secret file, and tightens its mode", () => {
    const dataDir = tempDir();
    const file = path.join(dataDir, "session-secret");
    fs.writeFileSync(file, "short\n");
    fs.chmodSync(file, 0o644);
    const config = loadConfig({ DATA_DIR: dataDir });
    expect(config.sessionSecret).toHaveLength(43);
    expect(fs.readFileSync(file, "utf8").trim()).toBe(config.sessionSecret);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it("uses SESSION_SECRET when set, and writes no file", () => {
    const dataDir = tempDir();
    const secret = "k".repeat(40);
    expect(loadConfig({ DATA_DIR: dataDir, SESSION_SECRET: secret }).sessionSecret).toBe(secret);
    expect(fs.existsSync(path.join(dataDir, "session-secret"))).toBe(false);
  });

  it("resolves the rest: base URL without trailing slash, OAuth only with both halves", () => {
    const config = loadConfig({
      DATA_DIR: tempDir(),
      BASE_URL: "https://cloudless.example.com/",
      GITHUB_CLIENT_ID: "gh-id",
      GITHUB_CLIENT_SECRET: "gh-secret",
      TRUST_PROXY: "true",
      AUTH_RATE_LIMIT_PER_IP: "7",
      NODE_ENV: "test",
    });
    expect(config.baseUrl).toBe("https://cloudless.example.com");
    expect(config.isProduction).toBe(false);
    expect(config.trustProxy).toBe(true);
    expect(config.oauth.github).toMatchObject({ clientId: "gh-id", clientSecret: "gh-secret" });
    expect(config.oauth.google).toBeUndefined();
    expect(config.mail.resendApiKey).toBeUndefined();
    expect(config.rateLimit).toEqual({ perIp: 7, perEmail: 5, windowSeconds: 900 });
  });

  it("throws ConfigError before touching the disk", () => {
    const dataDir = path.join(tempDir(), "never");
    expect(() => loadConfig({ DATA_DIR: dataDir, NODE_ENV: "production" })).toThrow(ConfigError);
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it("Docker: TLS only with DOCKER_TLS_VERIFY, certificates from DOCKER_CERT_PATH or ~/.docker", () => {
    const plain = loadConfig({ DATA_DIR: tempDir(), DOCKER_HOST: "tcp://10.0.0.5:2375" });
    expect(plain.runners.docker).toMatchObject({
      host: "tcp://10.0.0.5:2375",
      agentTransport: "auto",
    });
    expect(plain.runners.docker.tls).toBeUndefined();
    // As the Docker CLI: DOCKER_CERT_PATH alone does not turn TLS on.
    expect(
      loadConfig({ DATA_DIR: tempDir(), DOCKER_CERT_PATH: "/certs" }).runners.docker.tls,
    ).toBeUndefined();
    const tls = loadConfig({
      DATA_DIR: tempDir(),
      DOCKER_HOST: "tcp://10.0.0.5:2376",
      DOCKER_TLS_VERIFY: "1",
      DOCKER_CERT_PATH: "certs/remote",
      DOCKER_AGENT_TRANSPORT: "exec",
    });
    expect(tls.runners.docker).toMatchObject({
      tls: { certPath: path.resolve("certs/remote") },
      agentTransport: "exec",
    });
    const home = loadConfig({ DATA_DIR: tempDir(), DOCKER_TLS_VERIFY: "true" });
    expect(home.runners.docker.tls).toEqual({ certPath: path.join(os.homedir(), ".docker") });
  });
});
