import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NanosEngine } from "../../runners/nanos/engine";
import { InvocationError, invokeFunction } from "../../server/client";
import { loadConfig } from "../../server/config/config";
import { startTestApp, type TestApp } from "../helpers/app";
import { createTenant, deploy, type Tenant } from "../helpers/docker";
import { callNanos, NANOS_ENV } from "../helpers/nanos";

// A server whose Nanos engine lacks something (qemu, a kernel) still starts,
// takes deploys, and answers /nanos calls 503 with exactly what is missing
// and how to get it. Nothing here boots a VM, so it runs on any machine.

const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-nanos-unavailable-"));
afterAll(() => fs.rmSync(ROOT, { recursive: true, force: true }));

function file(name: string, content: string | Buffer, mode = 0o644) {
  const target = path.join(ROOT, name);
  fs.writeFileSync(target, content, { mode });
  return target;
}

describe("qemu missing", () => {
  let app: TestApp;
  let alice: Tenant;

  beforeAll(async () => {
    app = await startTestApp({
      ...NANOS_ENV,
      NANOS_QEMU: "/nonexistent/qemu-system-x86_64",
      POOL_GENERIC_PER_RUNTIME: "1",
    });
    alice = await createTenant(app, "alice@example.com");
  });
  afterAll(() => app?.close());

  it("answers 503 with the reason and what to install, and the SDK reports it", async () => {
    const fn = await deploy(alice, {
      name: "hello",
      runtime: "python",
      handler: "hello.main",
      code: "def main(event, context):\n    return 'hello'\n",
    });
    const { http, body } = await callNanos(app, alice, fn);
    expect(http).toBe(503);
    expect(body.error).toBe("The nanos engine is unavailable");
    expect(body.reason).toBe(
      "qemu not found (/nonexistent/qemu-system-x86_64). Install it with `apt-get install qemu-system-x86`, or set NANOS_QEMU.",
    );
    const error = await invokeFunction(
      { url: app.url, apiKey: alice.key },
      { userId: alice.id, handler: "hello", engine: "nanos" },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvocationError);
    expect((error as InvocationError).httpStatus).toBe(503);
    expect((error as Error).message).toContain("qemu not found");
  });

  it("boots nothing, and records no invocations for refused calls", async () => {
    expect(app.services.runners.stats().budget.instances).toBe(0);
    await app.services.recorder.flush();
    expect(await app.services.db.invocation.count()).toBe(0);
  });
});

describe("kernel missing or corrupt", () => {
  // A stand-in qemu, so these cases do not depend on the machine having one.
  const qemu = file("qemu-system-x86_64", "#!/bin/sh\nexit 0\n", 0o755);
  const boot = file("boot.img", Buffer.concat([Buffer.alloc(510), Buffer.from([0x55, 0xaa])]));

  async function statusWith(env: Record<string, string>) {
    const config = loadConfig({
      ...NANOS_ENV,
      NODE_ENV: "test",
      DATA_DIR: path.join(ROOT, "data"),
      NANOS_QEMU: qemu,
      NANOS_BOOT: boot,
      OPS_HOME: path.join(ROOT, "home"),
      // Not ../shared/nanos: these cases are about what happens without a kernel.
      NANOS_DIR: path.join(ROOT, "no-nanos-build"),
      ...env,
    });
    const engine = new NanosEngine(config.runners);
    await engine.start();
    return engine.status();
  }

  it("says a configured kernel file does not exist, and how to get one", async () => {
    const status = await statusWith({ NANOS_KERNEL: "/nonexistent/kernel.img" });
    expect(status).toEqual({
      available: false,
      reason: expect.stringMatching(
        /^NANOS_KERNEL \/nonexistent\/kernel\.img does not exist\. Install ops \(curl https:\/\/ops\.city\/get\.sh -sSfL \| sh, then `ops update`/,
      ),
    });
  });

  it("says a corrupt kernel file is not a kernel", async () => {
    const kernel = file("kernel.img", "garbage ".repeat(1000));
    const status = await statusWith({ NANOS_KERNEL: kernel });
    expect(status).toEqual({
      available: false,
      reason: expect.stringContaining(`The Nanos kernel ${kernel} is not an ELF file`),
    });
  });

  it("says no kernel was found when neither NANOS_KERNEL nor ops is there", async () => {
    const status = await statusWith({});
    expect(status).toEqual({
      available: false,
      reason: expect.stringMatching(
        /^No Nanos kernel found \(NANOS_KERNEL is unset, .*\.ops holds no release, and NANOS_DIR .* has no kernel\.img\)/,
      ),
    });
  });
});
