import { describe, expect, it } from "vitest";
import type { RunnerConfig } from "../../runners/config";
import { engineAvailability } from "./index";

describe("engineAvailability", () => {
  it("says why Nanos cannot run when its tools are missing", async () => {
    const config = {
      nanos: { qemu: "/nonexistent/qemu-system-x86_64", opsDir: "/nonexistent/.ops" },
    } as unknown as RunnerConfig;
    const availability = await engineAvailability("nanos", config);
    expect(availability.available).toBe(false);
    if (!availability.available) expect(availability.reason).toMatch(/qemu not found/);
  });
});
