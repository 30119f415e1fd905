import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvocationError, invokeFunction } from "../../server/client";
import { startTestApp, type TestApp } from "../helpers/app";
import {
  call,
  createTenant,
  DOCKER_ENV,
  deploy,
  ownerContainers,
  ownerOf,
  type Tenant,
} from "../helpers/docker";

// A server whose Docker engine cannot be reached still starts, takes
// deploys, and answers calls 503 with the reason, instead of failing them
// any other way.

let app: TestApp;
let alice: Tenant;

beforeAll(async () => {
  app = await startTestApp({
    ...DOCKER_ENV,
    POOL_GENERIC_PER_RUNTIME: "1",
    DOCKER_HOST: "unix:///nonexistent.sock",
  });
  alice = await createTenant(app, "alice@example.com");
});
afterAll(() => app?.close());

describe("an unreachable Docker engine", () => {
  it("answers 503 with the reason, and the SDK reports it", async () => {
    const fn = await deploy(alice, {
      name: "hello",
      runtime: "python",
      handler: "hello.main",
      code: "def main(event, context):\n    return 'hello'\n",
    });
    const { http, body } = await call(app, alice, fn);
    expect(http).toBe(503);
    expect(body.error).toBe("The docker engine is unavailable");
    expect(body.reason).toMatch(/^Cannot reach the Docker engine at unix:\/\/\/nonexistent\.sock/);
    expect(body.reason).toContain("scripts/setup-docker.sh");

    const error = await invokeFunction(
      { url: app.url, apiKey: alice.key },
      { userId: alice.id, handler: "hello" },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvocationError);
    expect((error as InvocationError).httpStatus).toBe(503);
    expect((error as Error).message).toContain("Cannot reach the Docker engine");
    // Auth still comes first: a stranger learns nothing about the engine.
    expect((await call(app, alice, fn, { key: null })).http).toBe(401);
  });

  it("boots nothing, and records no invocations for refused calls", async () => {
    expect(app.services.runners.engineStatus("docker").available).toBe(false);
    expect(app.services.runners.stats().budget.instances).toBe(0);
    expect(await ownerContainers(ownerOf(app))).toEqual([]);
    await app.services.recorder.flush();
    expect(await app.services.db.invocation.count()).toBe(0);
  });
});
