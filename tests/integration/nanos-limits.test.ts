import net from "node:net";
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

    it("an endless loop times out: 504, status 124, the VM is killed and the next call gets a new one", async () => {
      const python = await probe("spin", { timeoutSeconds: 1 });
      const node = await deploy(alice, {
        name: "spin-node",
        runtime: "node",
        handler: "spin_node.main",
        memoryMb: 64,
        timeoutSeconds: 1,
        code: "const vm = require('node:crypto').randomUUID();\nexports.main = (event) => { while (event.spin) {} return vm; };\n",
      });
      const [[pythonId, pythonVm], [nodeId, nodeVm]] = [
        await newVm(app, async () => (await callNanosOk(app, alice, python)).result),
        await newVm(app, async () => (await callNanosOk(app, alice, node)).result),
      ];
      const spins = await Promise.all([
        callNanos(app, alice, python, { query: { spin: "1" } }),
        callNanos(app, alice, node, { query: { spin: "1" } }),
      ]);
      for (const { http, body, ms } of spins) {
        expect(http).toBe(504);
        expect(body).toMatchObject({ status: 124, timeout: true, error: "timeout", result: null });
        expect(body.stderr).toMatch(/Timed out after 1 s/);
        expect(ms).toBeLessThan(5000);
      }
      // The VM that ran past its deadline is killed, never reused.
      await Promise.all([vmGone(pythonVm), vmGone(nodeVm)]);
      expect((await callNanosOk(app, alice, python)).result).not.toBe(pythonId);
      expect((await callNanosOk(app, alice, node)).result).not.toBe(nodeId);
    });

    it("running out of memory is status 137 with a clear message; the next call works", async () => {
      const fn = await probe("hog");
      const [id, vm] = await newVm(app, async () => (await callNanosOk(app, alice, fn)).result);
      const { http, body } = await callNanos(app, alice, fn, { query: { allocate_mb: "500" } });
      expect(http).toBe(200);
      expect(body).toMatchObject({ status: 137, timeout: false, error: "out of memory" });
      expect(body.stderr).toBe(
        "Out of memory: the function used more than its 64 MB and was killed.",
      );
      await vmGone(vm);
      expect((await callNanosOk(app, alice, fn)).result).not.toBe(id);
    });

    it("an output flood is capped at OUTPUT_LIMIT_BYTES with a marker, and the VM stays", async () => {
      const fn = await probe("flood");
      const first = await callNanosOk(app, alice, fn, { query: { flood_mb: "4" } });
      expect(first.truncated).toEqual({ stdout: true, stderr: false });
      expect(first.stdout.length).toBeLessThan(OUTPUT_LIMIT + 100);
      expect(first.stdout).toMatch(/…\[truncated \d+ bytes\]$/);
      const second = await callNanosOk(app, alice, fn);
      expect(second).toMatchObject({ start: "warm", result: first.result, stdout: "" });
    });

    it("a VM without the network reaches nothing; with it, the host (10.0.2.2) answers", async () => {
      const server = net.createServer((socket) => socket.end("host says hi\n"));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const { port } = server.address() as net.AddressInfo;
      const code = `import socket

def main(event, context):
    try:
        with socket.create_connection(("10.0.2.2", ${port}), timeout=3) as s:
            return s.recv(100).decode()
    except OSError as error:
        return type(error).__name__
`;
      try {
        const [closed, open] = await Promise.all(
          [false, true].map((network) =>
            deploy(alice, {
              name: `net-${network}`,
              runtime: "python",
              handler: `net_${network}.main`,
              memoryMb: 64,
              networkEnabled: network,
              code,
            }),
          ),
        );
        expect((await callNanosOk(app, alice, closed!)).result).not.toBe("host says hi\n");
        expect((await callNanosOk(app, alice, open!)).result).toBe("host says hi\n");
      } finally {
        server.close();
      }
    });

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
