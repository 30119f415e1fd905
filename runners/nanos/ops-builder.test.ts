import { describe, expect, it } from "vitest";
import type { ImageContent } from "./image-content";
import { opsConfig } from "./ops-builder";

const content: ImageContent = {
  runtime: "python",
  version: "3.11.2",
  files: [
    { host: "/usr/bin/python3.11", guest: "/usr/bin/python3.11" },
    { host: "/usr/bin/python3.11", guest: "/usr/bin/python3" },
    { host: "/usr/lib/x86_64-linux-gnu/libz.so.1", guest: "/usr/lib/x86_64-linux-gnu/libz.so.1" },
    { host: "/cache/pystdlib/abc/os.py", guest: "/usr/lib/python3.11/os.py" },
    { host: "/repo/runners/agents/python/agent.py", guest: "/agent/agent.py" },
  ],
  dirs: ["/tmp"],
  program: "/usr/bin/python3.11",
  args: ["python3", "/agent/agent.py", "--port", "8080"],
  env: { PYTHONDONTWRITEBYTECODE: "1" },
  settings: { ipaddr: '"10.0.2.15"' },
  hash: "f".repeat(64),
};

describe("opsConfig", () => {
  it("maps the image content onto ops's configuration file", () => {
    const { config, staged } = opsConfig(
      content,
      { kernel: "/home/u/.ops/0.1.54/kernel.img", boot: "/home/u/.ops/0.1.54/boot.img" },
      "/data/nanos/images/python.ops/root",
      10 * 1024 * 1024 + 1,
    );
    expect(config).toEqual({
      Program: "/usr/bin/python3.11",
      // ops puts the program itself in argv[0].
      Args: ["/agent/agent.py", "--port", "8080"],
      Env: { PYTHONDONTWRITEBYTECODE: "1" },
      // Host files at their own path; the program is ops's to add.
      Files: ["/usr/lib/x86_64-linux-gnu/libz.so.1"],
      MapDirs: { "/data/nanos/images/python.ops/root/*": "/" },
      Kernel: "/home/u/.ops/0.1.54/kernel.img",
      Boot: "/home/u/.ops/0.1.54/boot.img",
      NameServers: ["10.0.2.3"],
      BaseVolumeSz: "75m",
      DisableArgsCopy: true,
      ManifestPassthrough: { ipaddr: "10.0.2.15" },
    });
    // Files whose guest path differs from the host's are staged and mapped in.
    expect(staged).toEqual([
      { host: "/usr/bin/python3.11", guest: "/usr/bin/python3" },
      { host: "/cache/pystdlib/abc/os.py", guest: "/usr/lib/python3.11/os.py" },
      { host: "/repo/runners/agents/python/agent.py", guest: "/agent/agent.py" },
    ]);
  });

  it("keys ops's fields exactly as its types.Config spells them", () => {
    const { config } = opsConfig(content, { kernel: "/k", boot: "/b" }, "/s", 0);
    // ops decodes with DisallowUnknownFields: a misspelt key fails the build.
    const known = new Set([
      "Program",
      "Args",
      "Env",
      "Files",
      "MapDirs",
      "Kernel",
      "Boot",
      "NameServers",
      "BaseVolumeSz",
      "DisableArgsCopy",
      "ManifestPassthrough",
    ]);
    for (const key of Object.keys(config)) expect(known).toContain(key);
  });
});
