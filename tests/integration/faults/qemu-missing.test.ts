import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../../helpers/app";
import { createTenant, type Deployed, deploy, type Tenant } from "../../helpers/docker";
import {
  callNanos,
  callNanosOk,
  findNanos,
  killVms,
  NANOS_ENV,
  NANOS_TEST_CACHE,
  reportSkip,
  VM_TEST_TIMEOUT_MS,
  vmsOf,
} from "../../helpers/nanos";

// qemu disappears while Cloudless runs (NANOS_QEMU is a link this test
// removes, as a package upgrade would): warm VMs keep serving, a new VM
// answers 503 with the reason (and the saved VMs are kept, not thrown away as
// failed restores), and boots work again once qemu is back.

const nanos = await findNanos();
reportSkip("faults/qemu-missing.test.ts", nanos.skip);

let linkDir: string;
let qemuLink: string;
let realQemu: string;
let app: TestApp;
let tenant: Tenant;
let warm: Deployed;
let later: Deployed;

const savedVms = () =>
  fs.existsSync(path.join(NANOS_TEST_CACHE, "snapshots"))
    ? fs.readdirSync(path.join(NANOS_TEST_CACHE, "snapshots")).filter((f) => f.endsWith(".vmstate"))
    : [];

describe.skipIf(Boolean(nanos.skip))("qemu missing halfway", () => {
  beforeAll(async () => {
    realQemu = execFileSync("sh", [
      "-c",
      `command -v ${nanos.env.NANOS_QEMU ?? "qemu-system-x86_64"}`,
    ])
      .toString()
      .trim();
    linkDir = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-qemu-link-"));
    qemuLink = path.join(linkDir, "qemu-system-x86_64");
    fs.symlinkSync(realQemu, qemuLink);
    app = await startTestApp({
      ...NANOS_ENV,
      ...nanos.env,
      NANOS_QEMU: qemuLink,
      // Every function's first call starts a VM of its own.
      POOL_GENERIC_PER_RUNTIME: "0",
    });
    tenant = await createTenant(app, "qemu-missing@example.com");
    const code = (n: number) => `def main(event, context):\n    return {'n': ${n}}\n`;
    const common = { runtime: "python", style: "handler", memoryMb: 64 } as const;
    [warm, later] = await Promise.all([
      deploy(tenant, { ...common, name: "warm", handler: "warm.main", code: code(1) }),
      deploy(tenant, { ...common, name: "later", handler: "later.main", code: code(2) }),
    ]);
    await callNanosOk(app, tenant, warm);
  }, VM_TEST_TIMEOUT_MS);

  afterAll(async () => {
    if (app) {
      const vms = vmsOf(app);
      await app.close();
      killVms(vms);
    }
    fs.rmSync(linkDir, { recursive: true, force: true });
  });

  it(
    "keeps warm VMs serving, answers 503 for new ones, and boots again when qemu is back",
    async () => {
      const saved = savedVms();
      fs.rmSync(qemuLink);

      expect((await callNanosOk(app, tenant, warm)).result).toEqual({ n: 1 });
      const refused = await callNanos(app, tenant, later);
      expect(refused.http).toBe(503);
      expect(refused.body.error).toBe("The nanos engine is unavailable");
      expect(refused.body.reason).toMatch(/^qemu \(.*\) is missing or not executable/);
      expect(refused.ms).toBeLessThan(5000);
      // The saved VMs are still there for when qemu returns.
      expect(savedVms()).toEqual(expect.arrayContaining(saved));

      fs.symlinkSync(realQemu, qemuLink);
      expect((await callNanosOk(app, tenant, later)).result).toEqual({ n: 2 });
      expect((await callNanosOk(app, tenant, warm)).result).toEqual({ n: 1 });
    },
    VM_TEST_TIMEOUT_MS,
  );
});
