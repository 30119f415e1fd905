import { describe, expect, it } from "vitest";
import type { AgentClient } from "../agent-client";
import type { Engine, Instance, InstanceSpec } from "../types";
import { GenericStock } from "./generic-stock";

function fakeInstance(memoryMb: number, resizable: boolean): Instance {
  return {
    id: `i-${Math.random()}`,
    engine: "nanos",
    runtime: "python",
    memoryMb,
    network: false,
    state: "generic",
    agent: {} as AgentClient,
    bootMs: 1,
    ...(resizable ? { resize: async () => {} } : {}),
    diagnose: async () => ({ oomKilled: false, running: true }),
    destroy: async () => {},
  };
}

function stock(resizable: boolean) {
  const engine: Engine = {
    name: "nanos",
    status: () => ({ available: true }),
    start: async () => {},
    launch: async (spec: InstanceSpec) => fakeInstance(spec.memoryMb, resizable),
    stop: async () => {},
  };
  return new GenericStock(engine, "python", {
    target: 1,
    memoryMb: 64,
    reserve: () => true,
    release: () => {},
    log: () => {},
  });
}

async function filled(s: GenericStock) {
  s.refill();
  while (s.size === 0) await new Promise((r) => setTimeout(r, 1));
  return s;
}

describe("GenericStock.take", () => {
  it("hands a fixed-memory instance (a VM) only to a function of its size", async () => {
    const s = await filled(stock(false));
    expect(s.take(128)).toBeUndefined();
    expect(s.size).toBe(1);
    expect(s.take(64)?.memoryMb).toBe(64);
  });

  it("hands a resizable instance (a container) to any function", async () => {
    const s = await filled(stock(true));
    expect(s.take(128)?.memoryMb).toBe(64);
  });
});
