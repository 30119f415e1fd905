import net from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { isPortFree, PortAllocator, parsePortRange, withFreePort } from "./ports";
import { PortTakenError } from "./qemu";

const servers: net.Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

function listen(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    servers.push(server);
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port));
  });
}

describe("PortAllocator", () => {
  it("hands out free ports of its range, never one twice until released", async () => {
    const ports = new PortAllocator({ min: 40000, max: 40002 }, async () => true);
    const got = [await ports.reserve(), await ports.reserve(), await ports.reserve()];
    expect(got.sort()).toEqual([40000, 40001, 40002]);
    await expect(ports.reserve()).rejects.toThrow(/No free loopback port in 40000-40002/);
    ports.release(40001);
    expect(await ports.reserve()).toBe(40001);
  });

  it("skips a port another process listens on", async () => {
    const taken = await listen();
    const ports = new PortAllocator({ min: taken, max: taken + 1 });
    expect(await isPortFree(taken)).toBe(false);
    const got = await ports.reserve();
    expect(got).toBe(taken + 1);
  });

  it("does not give one port to two concurrent callers", async () => {
    const ports = new PortAllocator({ min: 41000, max: 41009 }, async () => {
      await new Promise((r) => setTimeout(r, 5));
      return true;
    });
    const got = await Promise.all(Array.from({ length: 10 }, () => ports.reserve()));
    expect(new Set(got).size).toBe(10);
  });
});

describe("withFreePort", () => {
  it("retries on another port when the launch finds its port taken", async () => {
    const ports = new PortAllocator({ min: 42000, max: 42009 }, async () => true);
    const tried: number[] = [];
    const result = await withFreePort(ports, async (port) => {
      tried.push(port);
      if (tried.length < 3)
        throw new PortTakenError(`Could not set up host forwarding rule ${port}`);
      return `up on ${port}`;
    });
    expect(new Set(tried).size).toBe(3);
    expect(result).toBe(`up on ${tried[2]}`);
    // The winning port stays reserved; the taken ones were released.
    expect([...ports.inUse]).toEqual([tried[2]]);
  });

  it("gives up after a few attempts, and does not retry other failures", async () => {
    const ports = new PortAllocator({ min: 43000, max: 43009 }, async () => true);
    let attempts = 0;
    await expect(
      withFreePort(ports, async () => {
        attempts += 1;
        throw new PortTakenError("taken");
      }),
    ).rejects.toThrow(PortTakenError);
    expect(attempts).toBe(5);
    attempts = 0;
    await expect(
      withFreePort(ports, async () => {
        attempts += 1;
        throw new Error("the kernel did not boot");
      }),
    ).rejects.toThrow("the kernel did not boot");
    expect(attempts).toBe(1);
    expect(ports.inUse.size).toBe(0);
  });
});

describe("parsePortRange", () => {
  it("reads min-max", () => {
    expect(parsePortRange("20000-29999")).toEqual({ min: 20000, max: 29999 });
    expect(() => parsePortRange("20000")).toThrow(RangeError);
    expect(() => new PortAllocator({ min: 30000, max: 20000 })).toThrow(RangeError);
  });
});
