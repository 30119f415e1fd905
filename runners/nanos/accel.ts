import fs from "node:fs/promises";
import type { Accel } from "./qemu";

export type AccelSetting = "auto" | "kvm" | "tcg";

export type AccelChoice = { accel: Accel; detail: string } | { unavailable: string };

export interface AccelProbes {
  /** Whether /dev/kvm exists and this process may open it. */
  kvmDevice(): Promise<boolean>;
  /** Boots the image once under KVM: null when the agent answered, else what went wrong. */
  probeBoot(): Promise<string | null>;
}

/**
 * KVM when a probe boot with it succeeds, otherwise TCG (NANOS_ACCEL=auto);
 * NANOS_ACCEL=kvm or tcg forces one. A device is not enough: under nested
 * virtualisation /dev/kvm can exist while Nanos crashes at its first
 * instructions under it (seen here: "KVM internal error" at xgetbv), so only
 * a boot that reaches the agent counts.
 */
export async function chooseAccel(
  setting: AccelSetting,
  probes: AccelProbes,
): Promise<AccelChoice> {
  if (setting === "tcg") return { accel: "tcg", detail: "TCG (NANOS_ACCEL=tcg)" };
  const device = await probes.kvmDevice();
  if (!device) {
    return setting === "kvm"
      ? { unavailable: "NANOS_ACCEL=kvm, but /dev/kvm is missing or not accessible to this user." }
      : { accel: "tcg", detail: "TCG (no usable /dev/kvm)" };
  }
  const failure = await probes.probeBoot();
  if (failure === null) return { accel: "kvm", detail: "KVM" };
  return setting === "kvm"
    ? { unavailable: `NANOS_ACCEL=kvm, but a probe boot under KVM failed: ${failure}` }
    : { accel: "tcg", detail: `TCG (a probe boot under KVM failed: ${failure})` };
}

export async function kvmDeviceUsable(device = "/dev/kvm"): Promise<boolean> {
  return fs.access(device, fs.constants.R_OK | fs.constants.W_OK).then(
    () => true,
    () => false,
  );
}
