import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app";
import { createTenant, type Deployed, deploy, type Tenant } from "../helpers/docker";
import {
  callNanos,
  callNanosOk,
  findNanos,
  isAlive,
  killVms,
  NANOS_ENV,
  newVm,
  reportSkip,
  VM_TEST_TIMEOUT_MS,
  vmGone,
  vmsOf,
} from "../helpers/nanos";

// What a VM does to itself and what is done to it: endless loops (the host
// owns the deadline and kills the VM), memory exhaustion, an output flood,
// and a kill from outside mid-call. No generic stock: every function's first
// call provisions its own VM, so the test can tell which VM is whose.

const nanos = await findNanos();
reportSkip("nanos-limits", nanos.skip);

const OUTPUT_LIMIT = 64 * 1024;

/** A Python handler that reports which VM it runs in and does what the event asks. */
const PROBE = `import sys, time, uuid

VM = uuid.uuid4().hex

def main(event, context):
    if "sleep" in event:
        time.sleep(float(event["sleep"]))
    if "spin" in event:
        while True:
            pass
    if "allocate_mb" in event:
        hoard = [b"x" * (1 << 20) for _ in range(int(event["allocate_mb"]))]
    if "flood_mb" in event:
        chunk = "y" * 1023 + "\\n"
        for _ in range(int(float(event["flood_mb"]) * 1024)):
            sys.stdout.write(chunk)
    return VM
`;

describe.skipIf(Boolean(nanos.skip))(
  "Nanos: limits and failures",
  { timeout: VM_TEST_TIMEOUT_MS },
  () => {
    let app: TestApp;
    let alice: Tenant;

    beforeAll(async () => {
      app = await startTestApp({
        ...NANOS_ENV,
        ...nanos.env,
        POOL_GENERIC_PER_RUNTIME: "0",
        POOL_QUEUE_TIMEOUT_MS: "300",
        OUTPUT_LIMIT_BYTES: String(OUTPUT_LIMIT),
      });
      alice = await createTenant(app, "alice@example.com");
    }, 300_000);

    afterAll(async () => {
      const vms = app ? vmsOf(app) : [];
      await app?.close();
      killVms(vms);
    });

    function probe(name: string, settings: Record<string, unknown> = {}): Promise<Deployed> {
      return deploy(alice, {
        name,
        runtime: "python",
        handler: `${name.replaceAll("-", "_")}.main`,
        memoryMb: 64,
        code: PROBE,
        ...settings,
      });
    }

    it("a VM killed from outside mid-call answers an error, and the pool heals", async () => {
      const fn = await probe("victim", { timeoutSeconds: 20 });
      const [id, vm] = await newVm(app, async () => (await callNanosOk(app, alice, fn)).result);
      const inFlight = callNanos(app, alice, fn, { query: { sleep: "10" } });
      await new Promise((r) => setTimeout(r, 500));
      process.kill(vm.pid, "SIGKILL");
      const { http, body, ms } = await inFlight;
      expect(http).toBe(200);
      expect(body).toMatchObject({ status: 137, error: "instance crashed", timeout: false });
      expect(body.stderr).toMatch(/The instance stopped during the call \(exit code 137\)/);
      expect(ms).toBeLessThan(8000);
      await vmGone(vm);
      const next = await callNanosOk(app, alice, fn);
      expect(next.start).not.toBe("warm");
      expect(next.result).not.toBe(id);
      expect(isAlive(vm.pid)).toBe(false);
    });
  },
);
