import { describe, expect, it } from "vitest";
import { HostBudget } from "./budget";

describe("host budget", () => {
  it("counts instances and memory and refuses past either limit", () => {
    const budget = new HostBudget({ maxInstances: 3, maxMemoryMb: 512 });
    expect(budget.tryReserve(256)).toBe(true);
    expect(budget.tryReserve(256)).toBe(true);
    expect(budget.tryReserve(1)).toBe(false); // memory full
    budget.release(256);
    expect(budget.tryReserve(128)).toBe(true);
    expect(budget.tryReserve(64)).toBe(true);
    expect(budget.tryReserve(64)).toBe(false); // 3 instances already
    expect(budget.usage()).toMatchObject({ instances: 3, memoryMb: 448 });
  });

  it("resizes a reservation only when the new size fits", () => {
    const budget = new HostBudget({ maxInstances: 10, maxMemoryMb: 300 });
    budget.tryReserve(128);
    expect(budget.tryResize(128, 256)).toBe(true);
    expect(budget.tryResize(256, 512)).toBe(false);
    expect(budget.usage().memoryMb).toBe(256);
    expect(budget.couldFit(301)).toBe(false);
  });
});
