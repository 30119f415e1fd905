import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "./env";

const SECRET = "s".repeat(32);

function configError(source: Record<string, string>): string {
  try {
    parseEnv(source);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error("expected a ConfigError");
}

describe("environment parsing", () => {
  it("needs nothing: every setting has a default", () => {
    const env = parseEnv({});
    expect(env).toMatchObject({
      NODE_ENV: "development",
      PORT: 3000,
      HOST: "0.0.0.0",
      DATA_DIR: ".data",
      SESSION_TTL_DAYS: 30,
      TRUST_PROXY: false,
      AUTH_RATE_LIMIT_PER_IP: 20,
      AUTH_RATE_LIMIT_PER_EMAIL: 5,
      AUTH_RATE_LIMIT_WINDOW_SECONDS: 900,
    });
    expect(env.BASE_URL).toBeUndefined();
    expect(env.SESSION_SECRET).toBeUndefined();
    expect(env.RESEND_API_KEY).toBeUndefined();
    expect(env.GITHUB_CLIENT_ID).toBeUndefined();
  });

  it("treats empty values as unset and reads numbers and flags", () => {
    const env = parseEnv({
      BASE_URL: "",
      RESEND_API_KEY: "  ",
      PORT: "8080",
      TRUST_PROXY: "1",
      AUTH_RATE_LIMIT_PER_EMAIL: "3",
    });
    expect(env.BASE_URL).toBeUndefined();
    expect(env.RESEND_API_KEY).toBeUndefined();
    expect(env.PORT).toBe(8080);
    expect(env.TRUST_PROXY).toBe(true);
    expect(env.AUTH_RATE_LIMIT_PER_EMAIL).toBe(3);
    for (const off of ["0", "false", "no", ""])
      expect(parseEnv({ TRUST_PROXY: off }).TRUST_PROXY).toBe(false);
  });

  it("requires SESSION_SECRET and BASE_URL in production", () => {
    const message = configError({ NODE_ENV: "production" });
    expect(message).toContain("SESSION_SECRET: SESSION_SECRET (32+ characters) is required");
    expect(message).toContain("BASE_URL: BASE_URL (the public URL");
    const env = parseEnv({
      NODE_ENV: "production",
      SESSION_SECRET: SECRET,
      BASE_URL: "https://cloudless.example.com",
    });
    expect(env.SESSION_SECRET).toBe(SECRET);
  });

  it("refuses a short session secret, naming the variable but not its value", () => {
    const message = configError({ SESSION_SECRET: "hunter2-but-short" });
    expect(message).toMatch(/SESSION_SECRET: .*32/);
    expect(message).not.toContain("hunter2");
  });

  it.each(["GITHUB", "GOOGLE"])("wants %s_CLIENT_ID and _SECRET together", (provider) => {
    expect(configError({ [`${provider}_CLIENT_ID`]: "id" })).toContain(
      `${provider}_CLIENT_SECRET: ${provider}_CLIENT_ID and ${provider}_CLIENT_SECRET must be set together`,
    );
    expect(configError({ [`${provider}_CLIENT_SECRET`]: "secret" })).toContain(
      "must be set together",
    );
    const both = parseEnv({ [`${provider}_CLIENT_ID`]: "id", [`${provider}_CLIENT_SECRET`]: "x" });
    expect(both[`${provider}_CLIENT_ID` as "GITHUB_CLIENT_ID"]).toBe("id");
  });

  it.each([
    [{ PORT: "eighty" }, "PORT:"],
    [{ PORT: "70000" }, "PORT:"],
    [{ NODE_ENV: "staging" }, "NODE_ENV:"],
    [{ TRUST_PROXY: "maybe" }, "TRUST_PROXY:"],
    [{ BASE_URL: "cloudless.example.com" }, "BASE_URL: Use an http:// or https:// URL"],
    [{ BASE_URL: "javascript:alert(1)" }, "BASE_URL: Use an http:// or https:// URL"],
    [{ DATABASE_URL: "not a url" }, "DATABASE_URL:"],
    [{ SESSION_TTL_DAYS: "0" }, "SESSION_TTL_DAYS:"],
    [{ AUTH_RATE_LIMIT_PER_IP: "-1" }, "AUTH_RATE_LIMIT_PER_IP:"],
    [
      { DOCKER_HOST: "ssh://me@host" },
      "DOCKER_HOST: Use unix:///path/to/docker.sock or tcp://host:port",
    ],
    [{ DOCKER_HOST: "10.0.0.5:2376" }, "DOCKER_HOST: Use unix:///path/to/docker.sock"],
    [{ DOCKER_TLS_VERIFY: "sometimes" }, "DOCKER_TLS_VERIFY:"],
    [{ DOCKER_AGENT_TRANSPORT: "carrier-pigeon" }, "DOCKER_AGENT_TRANSPORT:"],
  ])("explains an invalid value: %j", (source, expected) => {
    const message = configError(source);
    expect(message.startsWith("Invalid configuration:\n")).toBe(true);
    expect(message).toContain(expected);
  });
});
