import { describe, expect, it } from "vitest";
import { canServe, type InstanceState, transition } from "./instance-state";

describe("instance state", () => {
  it("follows the life of an instance", () => {
    let s: InstanceState = "starting";
    for (const event of [
      "booted",
      "specialize",
      "specialized",
      "acquired",
      "released",
      "acquired",
    ] as const) {
      s = transition(s, event);
    }
    expect(s).toBe("busy");
    expect(transition(s, "failed")).toBe("removing");
  });

  it("refuses illegal moves", () => {
    expect(() => transition("generic", "acquired")).toThrow(/cannot "acquired" while generic/);
    expect(() => transition("busy", "specialize")).toThrow();
    expect(() => transition("removing", "released")).toThrow();
    expect(() => transition("idle", "booted")).toThrow();
  });

  it("a removed instance stays removed and never serves", () => {
    expect(transition("removing", "remove")).toBe("removing");
    expect(canServe("removing")).toBe(false);
    expect(canServe("idle")).toBe(true);
    expect(canServe("busy")).toBe(false);
  });
});
