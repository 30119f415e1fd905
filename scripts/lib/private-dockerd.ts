import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Docker from "dockerode";

/**
 * A Docker engine of its own (a test's, or a node's in `npm run cluster`), beside the machine's one: its own data
 * root, exec root (and so its own containerd: the system engine's containerd
 * is supervised under its own exec root, not at /run/containerd), pid file,
 * unix socket, containerd namespace and cgroup parent, with no default bridge
 * and no iptables rules, so it never touches the system engine's containers,
 * networks or firewall. Every signal goes to the pid this helper started.
 *
 * It can be stopped (SIGTERM) or killed (SIGKILL) and started again on the
 * same data root, as an engine restart: images and containers survive.
 */
export interface PrivateDockerd {
  /** DOCKER_HOST for it: unix:// and its socket. */
  socketHost: string;
  /** tcp://127.0.0.1:PORT when started with `tcp`. */
  tcpHost?: string;
  /** A client over its socket, for the test's own inspection. */
  docker: Docker;
  /** dockerd's log so far (for failure messages). */
  log(): string;
  /** SIGTERM, and waits until dockerd has exited (it stops its containers first). */
  terminate(): Promise<void>;
  /** SIGKILL: dockerd and its containerd die at once; containers' shims (and containers) live on. */
  kill(): Promise<void>;
  /** Starts dockerd again on the same folders and waits until it answers. */
  restart(): Promise<void>;
  /** Stops it for good and removes its folders (but a given `root`'s data). */
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
   * Keep it short: containerd's socket paths are limited to 108 bytes.
   */
  root?: string;
}

export async function startPrivateDockerd(options: PrivateDockerdOptions): Promise<PrivateDockerd> {
  // Short paths: containerd's sockets live under the exec root, and unix socket paths are limited to 108 bytes.
  const keep = options.root !== undefined;
  if (options.root) fs.mkdirSync(options.root, { recursive: true });
  const root = options.root ?? fs.mkdtempSync(path.join(os.tmpdir(), `dk-${options.name}-`));
  const socket = path.join(root, "docker.sock");
  const logFile = path.join(root, "dockerd.log");
  const args = [
    `--data-root=${path.join(root, "data")}`,
    `--exec-root=${path.join(root, "exec")}`,
    `--pidfile=${path.join(root, "dockerd.pid")}`,
    `--host=unix://${socket}`,
    "--bridge=none",
    "--iptables=false",
    "--ip-masq=false",
    "--ip-forward=false",
    `--containerd-namespace=cloudless-${options.name}`,
    `--containerd-plugins-namespace=cloudless-${options.name}-plugins`,
    `--cgroup-parent=/cloudless-${options.name}`,
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
  const docker = new Docker({ socketPath: socket });
  const log = () => {
    try {
      return fs.readFileSync(logFile, "utf8");
    } catch {
      return "";
    }
  };

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  /** After a SIGKILL its containers still run: only a dockerd started again stops them. */
  let killed = false;

  const launch = async () => {
    const out = fs.openSync(logFile, "a");
    const started = spawn("dockerd", args, { stdio: ["ignore", out, out] });
    fs.closeSync(out);
    child = started;
    exited = new Promise<void>((resolve) => started.once("exit", () => resolve()));
    void exited.then(() => {
      if (child === started) child = undefined;
    });
    // After a kill, dockerd stops the containers left running (10 s grace each, in parallel) before it answers.
    const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
    for (;;) {
      if (child !== started)
        throw new Error(`Private dockerd exited during start:\n${log().slice(-3000)}`);
      if (
        await docker.ping().then(
          () => true,
          () => false,
        )
      )
        break;
      if (Date.now() > deadline) {
        await signal("SIGKILL");
        throw new Error(`Private dockerd did not answer in time:\n${log().slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    killed = false;
  };

  const signal = async (name: "SIGTERM" | "SIGKILL") => {
    const running = child;
    if (!running?.pid) return;
    process.kill(running.pid, name);
    await exited;
  };

  const stop = async () => {
    if (killed && !child) await launch().catch(() => {});
    if (child) {
      const pid = child.pid;
      const done = signal("SIGTERM");
      const late = setTimeout(() => pid && process.kill(pid, "SIGKILL"), 60_000);
      await done;
      clearTimeout(late);
    }
    reapShims();
    removeFolders();
  };

  // A shim whose container's removal failed (or that started during the
  // shutdown) outlives dockerd: stop those of this engine, named by its own
  // containerd socket, which no other engine uses.
  const reapShims = () => {
    const address = `-address ${path.join(root, "exec")}/`;
    const read = (file: string) => {
      try {
        return fs.readFileSync(file, "utf8");
      } catch {
        return "";
      }
    };
    const pids = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p));
    const shims = pids.filter((pid) => {
      const cmdline = read(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
      return cmdline.startsWith("/usr/bin/containerd-shim") && cmdline.includes(address);
    });
    for (const shim of shims) {
      // Its children are the containers' first processes: they go first.
      const children = pids.filter(
        (pid) => read(`/proc/${pid}/stat`).split(") ")[1]?.split(" ")[1] === shim,
      );
      for (const pid of [...children, shim]) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // Already gone.
        }
      }
    }
  };

  // dockerd unmounts its layers on a clean stop but leaves its data root
  // bind-mounted on itself (made private): unmount what is under our folder.
  const removeFolders = () => {
    const mounts = fs
      .readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .map((line) => line.split(" ")[1] ?? "")
      .filter((where) => where === root || where.startsWith(`${root}/`))
      .sort((a, b) => b.length - a.length);
    for (const where of mounts) execFileSync("umount", ["-l", where]);
    if (!keep) fs.rmSync(root, { recursive: true, force: true });
    removeCgroupParent(`cloudless-${options.name}`);
  };

  try {
    await launch();
  } catch (error) {
    removeFolders();
    throw error;
  }
  return {
    socketHost: `unix://${socket}`,
    tcpHost: options.tcp ? `tcp://127.0.0.1:${options.tcp.port}` : undefined,
    docker,
    log,
    terminate: () => signal("SIGTERM"),
    async kill() {
      await signal("SIGKILL");
      killed = true;
    },
    restart: launch,
    stop,
  };
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
