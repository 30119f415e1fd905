import { describe, expect, it } from "vitest";
import { vmMemoryMb } from "./memory";

describe("vmMemoryMb", () => {
  it("keeps sizes Nanos boots, and lifts the gap above its low-memory mode", () => {
    expect([64, 66, 67, 80, 96, 111, 112, 128, 2048].map(vmMemoryMb)).toEqual([
      64, 66, 112, 112, 112, 112, 112, 128, 2048,
    ]);
  });
});
