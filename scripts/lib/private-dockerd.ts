import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Docker from "dockerode";

/**
 * A Docker engine of its own (a test's, or a node's in `npm run cluster`), beside the machine's one: its own data
 * root, exec root (and so its own containerd), pid file, unix socket and
 * cgroup parent, with no bridge and no iptables rules, so it never touches the
 * system engine's containers, networks or firewall. Stopping it stops only
 * that dockerd (by the pid it was started with) and removes its folders.
 */
export interface PrivateDockerd {
  /** unix:// address of its own socket. */
  socketHost: string;
  /** tcp://127.0.0.1:PORT when started with `tcp`. */
  tcpHost?: string;
  /** A client over its unix socket, for the test's own inspection. */
  docker: Docker;
  /** dockerd's log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export interface PrivateDockerdOptions {
  /** Short name used in folder, namespace and cgroup names. */
  name: string;
  /** Also listen on 127.0.0.1:port, with TLS client verification when `tls` is given. */
  tcp?: {
    port: number;
    tls?: { ca: string; cert: string; key: string };
  };
  startTimeoutMs?: number;
  /**
   * A folder of its own that outlives it (images built there are kept for the
   * next start; `npm run cluster`). Default: a temp folder removed at stop.
   */
  root?: string;
}

export async function startPrivateDockerd(options: PrivateDockerdOptions): Promise<PrivateDockerd> {
  // Short paths: containerd's sockets live under the exec root, and unix socket paths are limited to 108 bytes.
  const keep = options.root !== undefined;
  if (options.root) fs.mkdirSync(options.root, { recursive: true });
  const root = options.root ?? fs.mkdtempSync(path.join(os.tmpdir(), `dk-${options.name}-`));
  const dataRoot = path.join(root, "data");
  const execRoot = path.join(root, "exec");
  const socket = path.join(root, "docker.sock");
  const logFile = path.join(root, "dockerd.log");
  const args = [
    `--data-root=${dataRoot}`,
    `--exec-root=${execRoot}`,
    `--pidfile=${path.join(root, "dockerd.pid")}`,
    `--host=unix://${socket}`,
    "--bridge=none",
    "--iptables=false",
    "--ip-masq=false",
    "--ip-forward=false",
    `--containerd-namespace=cloudless-${options.name}`,
    `--containerd-plugins-namespace=cloudless-${options.name}-plugins`,
    `--cgroup-parent=/cloudless-${options.name}`,
    "--storage-driver=overlay2",
  ];
  if (options.tcp) {
    args.push(`--host=tcp://127.0.0.1:${options.tcp.port}`);
    const tls = options.tcp.tls;
    if (tls) {
      args.push(
        "--tlsverify",
        `--tlscacert=${tls.ca}`,
        `--tlscert=${tls.cert}`,
        `--tlskey=${tls.key}`,
      );
    }
  }
  const out = fs.openSync(logFile, "a");
  const child: ChildProcess = spawn("dockerd", args, { stdio: ["ignore", out, out] });
  fs.closeSync(out);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let running = true;
  child.once("exit", () => {
    running = false;
  });
  const log = () => {
    try {
      return fs.readFileSync(logFile, "utf8");
    } catch {
      return "";
    }
  };
  const docker = new Docker({ socketPath: socket });

  const stop = async () => {
    if (running && child.pid) {
      process.kill(child.pid, "SIGTERM");
      const killed = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), 30_000)),
      ]);
      if (killed && running) {
        process.kill(child.pid, "SIGKILL");
        await exited;
      }
    }
    // dockerd unmounts its layers on a clean stop; after a SIGKILL some stay mounted.
    unmountUnder(root);
    if (!keep) fs.rmSync(root, { recursive: true, force: true });
    removeCgroupParent(`cloudless-${options.name}`);
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    if (!running) {
      const text = log();
      if (!keep) fs.rmSync(root, { recursive: true, force: true });
      throw new Error(`Private dockerd exited during start:\n${text.slice(-3000)}`);
    }
    const ok = await docker.ping().then(
      () => true,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Private dockerd did not answer in time:\n${log().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    socketHost: `unix://${socket}`,
    tcpHost: options.tcp ? `tcp://127.0.0.1:${options.tcp.port}` : undefined,
    docker,
    log,
    stop,
  };
}

/** Lazily unmounts whatever is still mounted below `root` (deepest first). */
function unmountUnder(root: string) {
  const mounts = fs
    .readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .filter((point) => point === root || point.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) spawnSync("umount", ["-l", point]);
}

/** The (empty, once its containers are gone) cgroup folders dockerd made for --cgroup-parent. */
function removeCgroupParent(name: string) {
  const base = "/sys/fs/cgroup";
  for (const controller of fs.existsSync(base) ? fs.readdirSync(base) : []) {
    const dir = path.join(base, controller, name);
    if (!fs.existsSync(dir)) continue;
    // Children first; rmdir (not rm -r) is how cgroup folders go.
    const walk = (d: string) => {
      for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(path.join(d, entry.name));
      }
      try {
        fs.rmdirSync(d);
      } catch {
        // Still in use (a container left running): leave it.
      }
    };
    walk(dir);
  }
}
