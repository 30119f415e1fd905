import { describe, expect, it } from "vitest";
import { type QemuSpec, qemuArgs, shellQuote } from "./qemu";

const spec: QemuSpec = {
  qemu: "qemu-system-x86_64",
  name: "cloudless-abc-123",
  accel: "tcg",
  memoryMb: 96,
  image: "/cache/images/python-1234.img",
  disk: "overlay",
  consoleLog: "/data/instances/nanos/123/console.log",
  monitorSocket: "/data/instances/nanos/123/monitor.sock",
  hostPort: 20123,
  guestPort: 8080,
  network: false,
};

function option(args: string[], flag: string) {
  return args.filter((_, i) => args[i - 1] === flag);
}

describe("qemuArgs", () => {
  it("boots the image with the function's memory, one forwarded port and no network", () => {
    const args = qemuArgs(spec);
    expect(option(args, "-name")).toEqual(["cloudless-abc-123"]);
    expect(option(args, "-m")).toEqual(["96"]);
    expect(option(args, "-accel")).toEqual(["tcg"]);
    expect(option(args, "-cpu")).toEqual(["max"]);
    expect(option(args, "-drive")).toEqual([
      "file=/cache/images/python-1234.img,format=raw,if=none,id=hd0,snapshot=on",
    ]);
    expect(option(args, "-netdev")).toEqual([
      "user,id=n0,restrict=on,ipv6=off,hostfwd=tcp:127.0.0.1:20123-:8080",
    ]);
    expect(option(args, "-serial")).toEqual(["file:/data/instances/nanos/123/console.log"]);
    expect(option(args, "-monitor")).toEqual([
      "unix:/data/instances/nanos/123/monitor.sock,server,nowait",
    ]);
    expect(option(args, "-device")).toContain("isa-debug-exit");
    expect(args).toContain("-no-reboot");
    expect(args).not.toContain("-incoming");
  });

  it("opens the network when asked, uses the host CPU under KVM, and writes a settling image", () => {
    const args = qemuArgs({ ...spec, network: true, accel: "kvm", disk: "writable" });
    expect(option(args, "-netdev")[0]).toContain("restrict=off");
    expect(option(args, "-cpu")).toEqual(["host"]);
    expect(option(args, "-drive")[0]).not.toContain("snapshot=on");
  });

  it("restores a saved state through cat", () => {
    const args = qemuArgs({ ...spec, incoming: "/cache/snapshots/a b.vmstate" });
    expect(option(args, "-incoming")).toEqual(["exec:cat '/cache/snapshots/a b.vmstate'"]);
    expect(() => shellQuote("/it's")).toThrow(/single quote/);
  });
});
