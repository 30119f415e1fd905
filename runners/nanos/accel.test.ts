import { describe, expect, it } from "vitest";
import { type AccelSetting, chooseAccel } from "./accel";

function probes(device: boolean, boot: string | null) {
  const calls = { probeBoot: 0 };
  return {
    calls,
    probes: {
      kvmDevice: async () => device,
      probeBoot: async () => {
        calls.probeBoot += 1;
        return boot;
      },
    },
  };
}

describe("chooseAccel", () => {
  const cases: Array<[AccelSetting, boolean, string | null, unknown, number]> = [
    // setting, /dev/kvm usable, probe boot failure, choice, probe boots
    ["tcg", true, null, { accel: "tcg", detail: "TCG (NANOS_ACCEL=tcg)" }, 0],
    ["auto", false, null, { accel: "tcg", detail: "TCG (no usable /dev/kvm)" }, 0],
    ["auto", true, null, { accel: "kvm", detail: "KVM" }, 1],
    [
      "auto",
      true,
      "KVM internal error",
      { accel: "tcg", detail: "TCG (a probe boot under KVM failed: KVM internal error)" },
      1,
    ],
    ["kvm", true, null, { accel: "kvm", detail: "KVM" }, 1],
    [
      "kvm",
      false,
      null,
      { unavailable: "NANOS_ACCEL=kvm, but /dev/kvm is missing or not accessible to this user." },
      0,
    ],
    [
      "kvm",
      true,
      "qemu exited",
      { unavailable: "NANOS_ACCEL=kvm, but a probe boot under KVM failed: qemu exited" },
      1,
    ],
  ];

  it.each(cases)(
    "%s with /dev/kvm=%s and probe failure %s",
    async (setting, device, boot, choice, boots) => {
      const { calls, probes: p } = probes(device, boot);
      expect(await chooseAccel(setting, p)).toEqual(choice);
      expect(calls.probeBoot).toBe(boots);
    },
  );
});
