import { randomBytes } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../../helpers/app";
import { createTenant, deploy, type Tenant, waitFor } from "../../helpers/docker";
import { callOkOn, enginesUnderTest } from "../../helpers/engines";
import { reportSkip } from "../../helpers/nanos";
import { SNOOPER } from "./attackers";

// What a function can see: nothing of the host (its environment, DATA_DIR
// and its secrets, the Docker socket, the host's processes), nothing of other
// functions or users (their code, their /tmp), and nothing an earlier
// function left in a prewarmed instance of the generic stock.

const engines = await enginesUnderTest();

type Seen = {
  environ: Record<string, string>;
  files: Record<string, string | null>;
  docker_socket: boolean;
  pid1: string;
  code_elsewhere: string[];
  tmp: string[];
  leak_global: string | null;
  leak_env: string | null;
  leak_file: string | null;
};

describe.each(engines)("$name: snooping", (engine) => {
  reportSkip(`hostile/snooping (${engine.name})`, engine.skip);

  describe.skipIf(Boolean(engine.skip))("", { timeout: engine.timeoutMs }, () => {
    let app: TestApp;
    let alice: Tenant;
    let mallory: Tenant;

    beforeAll(async () => {
      // One generic instance per runtime: functions start on prewarmed instances.
      app = await startTestApp({ ...engine.env, POOL_GENERIC_PER_RUNTIME: "1" });
      [alice, mallory] = await Promise.all([
        createTenant(app, "alice@example.com"),
        createTenant(app, "mallory@example.com"),
      ]);
    }, 300_000);

    afterAll(async () => {
      if (app) await engine.cleanUp(app);
      await app?.close();
    });

    /** Waits for the generic stock to hold a Python instance again. */
    const stocked = () =>
      waitFor(
        "a generic Python instance",
        () =>
          (app.services.runners
            .stats()
            .instances.find((r) => r.engine === engine.name && r.runtime === "python")?.generic ??
            0) >= 1,
        90_000,
      );

    const snooper = (tenant: Tenant, name: string) =>
      deploy(tenant, {
        name,
        runtime: "python",
        handler: `${name.replaceAll("-", "_")}.main`,
        memoryMb: 64,
        timeoutSeconds: 60,
        code: SNOOPER,
      });

    it("sees none of the host's environment, files, secrets, socket or processes, nor other users' code", async () => {
      const marker = `alice-private-${randomBytes(6).toString("hex")}`;
      const secret = await deploy(alice, {
        name: "secret",
        runtime: "python",
        handler: "secret.main",
        memoryMb: 64,
        code: `# ${marker}\ndef main(event, context):\n    return "${marker}"\n`,
      });
      expect((await callOkOn(engine, app, alice, secret)).result).toBe(marker);

      const fn = await snooper(mallory, "snoop");
      const config = app.services.config;
      const dataDir = config.runners.dataDir;
      const paths = [
        path.join(dataDir, "session-secret"),
        path.join(dataDir, "instances"),
        "/etc/shadow",
        `/proc/${process.pid}/environ`,
      ];
      const seen = (await callOkOn(engine, app, mallory, fn, { body: { marker, paths } }))
        .result as Seen;
      const environ = JSON.stringify(seen.environ);
      for (const hostValue of [config.sessionSecret, config.databaseUrl!, dataDir, process.cwd()]) {
        expect(environ).not.toContain(hostValue);
      }
      for (const name of ["DATABASE_URL", "SESSION_SECRET", "AWS_SECRET_ACCESS_KEY", "DATA_DIR"]) {
        expect(seen.environ[name]).toBeUndefined();
      }
      expect(seen.files).toEqual(Object.fromEntries(paths.map((p) => [p, null])));
      expect(seen.docker_socket).toBe(false);
      // Its pid 1 is its own interpreter (the agent), not the host's init.
      expect(seen.pid1).not.toMatch(/systemd|init|dockerd|tini/);
      expect(seen.code_elsewhere).toEqual([]);
    });

    it("finds nothing an earlier function of another user left in a prewarmed instance or /tmp", async () => {
      const [first, second] = [await snooper(alice, "leaver"), await snooper(mallory, "finder")];
      await stocked();
      const left = await callOkOn(engine, app, alice, first, { body: { leave: "alice was here" } });
      expect(left.start).toBe("prewarm");
      expect((left.result as Seen).leak_global).toBeNull();
      // Alice's own next call sees what she left (her instance is hers, warm)...
      const again = (await callOkOn(engine, app, alice, first)).result as Seen;
      expect(again).toMatchObject({ leak_global: "alice was here", leak_file: "alice was here" });
      // ...Mallory's function, on the next prewarmed instance, sees none of it.
      await stocked();
      const found = await callOkOn(engine, app, mallory, second);
      expect(found.start).toBe("prewarm");
      expect(found.result).toMatchObject({ leak_global: null, leak_env: null, leak_file: null });
      expect((found.result as Seen).tmp).not.toContain("cloudless-leak");
    });
  });
});
