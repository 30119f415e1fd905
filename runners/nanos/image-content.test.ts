import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AGENT_PORT, collectImageContent } from "./image-content";

const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-image-content-"));
afterAll(() => fs.rmSync(ROOT, { recursive: true, force: true }));

describe("collectImageContent", () => {
  const kernel = path.join(ROOT, "kernel.img");
  const boot = path.join(ROOT, "boot.img");
  fs.writeFileSync(kernel, "kernel v1");
  fs.writeFileSync(boot, "boot");

  it("holds node, its libraries, the agent, /etc files and an empty /tmp, started with --port", async () => {
    const content = await collectImageContent("node", process.execPath, ROOT, { kernel, boot });
    const guests = content.files.map((f) => f.guest);
    expect(guests).toContain("/agent/agent.mjs");
    expect(guests).toContain("/usr/bin/node");
    expect(guests).toEqual(
      expect.arrayContaining(["/etc/passwd", "/etc/group", "/etc/resolv.conf"]),
    );
    expect(guests.some((g) => /\/libc\.so\.6$/.test(g))).toBe(true);
    expect(content.dirs).toEqual(["/tmp"]);
    expect(content.program).toBe(fs.realpathSync(process.execPath));
    expect(content.args).toEqual(["node", "/agent/agent.mjs", "--port", String(AGENT_PORT)]);
    expect(content.env).toMatchObject({ HOME: "/", TMPDIR: "/tmp" });
    expect(fs.readFileSync(path.join(ROOT, "static", "resolv.conf"), "utf8")).toBe(
      "nameserver 10.0.2.3\n",
    );
  });

  it("changes its hash with the kernel", async () => {
    const before = await collectImageContent("node", process.execPath, ROOT, { kernel, boot });
    const again = await collectImageContent("node", process.execPath, ROOT, { kernel, boot });
    expect(again.hash).toBe(before.hash);
    fs.writeFileSync(kernel, "kernel v2");
    const after = await collectImageContent("node", process.execPath, ROOT, { kernel, boot });
    expect(after.hash).not.toBe(before.hash);
  });
});
