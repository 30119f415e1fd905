import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { waitFor } from "./docker";

const run = promisify(execFile);

/**
 * "The outside world" for network tests on a machine without internet: a
 * network namespace joined to the host by a veth pair, with an HTTP server
 * inside on an address of TEST-NET-2 (198.51.100.0/24, RFC 5737), routed from
 * the host like any remote host. A network-enabled function must reach it; it
 * is not one of the host's own addresses, so the host firewall rules that
 * keep functions off the host's services do not apply to it.
 */
export interface OutsideHost {
  address: string;
  port: number;
  /** What its server answers to GET /. */
  greeting: string;
  close(): Promise<void>;
}

export async function startOutsideHost(): Promise<OutsideHost> {
  const tag = randomBytes(3).toString("hex");
  const ns = `cl-out-${tag}`;
  const [hostEnd, nsEnd] = [`clo${tag}h`, `clo${tag}n`];
  // A /30 of its own, so two runs on one machine do not clash.
  const base = 4 * (Number.parseInt(tag, 16) % 64);
  const [address, hostAddress] = [`198.51.100.${base + 1}`, `198.51.100.${base + 2}`];
  const port = 8080;
  const greeting = `hello from outside ${tag}`;
  const ip = (...args: string[]) => run("ip", args);
  let server: ChildProcess | undefined;
  const close = async () => {
    server?.kill("SIGKILL");
    await ip("link", "del", hostEnd).catch(() => {});
    await ip("netns", "del", ns).catch(() => {});
  };
  try {
    await ip("netns", "add", ns);
    await ip("link", "add", hostEnd, "type", "veth", "peer", "name", nsEnd);
    await ip("link", "set", nsEnd, "netns", ns);
    await ip("addr", "add", `${hostAddress}/30`, "dev", hostEnd);
    await ip("link", "set", hostEnd, "up");
    await ip("netns", "exec", ns, "ip", "addr", "add", `${address}/30`, "dev", nsEnd);
    await ip("netns", "exec", ns, "ip", "link", "set", nsEnd, "up");
    await ip("netns", "exec", ns, "ip", "link", "set", "lo", "up");
    // Replies to containers (masqueraded to the host) and VMs (qemu's own sockets) go back by the host.
    await ip("netns", "exec", ns, "ip", "route", "add", "default", "via", hostAddress);
    const script = `require("node:http").createServer((q, r) => r.end(${JSON.stringify(greeting)})).listen(${port}, "${address}")`;
    server = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", script], {
      stdio: "ignore",
    });
    await waitFor(`the outside host ${address}:${port}`, async () => {
      const answer = await fetch(`http://${address}:${port}/`, {
        signal: AbortSignal.timeout(1000),
      }).catch(() => null);
      return (await answer?.text()) === greeting;
    });
    return { address, port, greeting, close };
  } catch (error) {
    await close();
    throw error;
  }
}
