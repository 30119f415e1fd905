import type { RuntimeName } from "./types";

/** Everything the runners need, passed in (runner code never reads process.env). */
export interface RunnerConfig {
  /** Per-instance folders (agent sockets) and caches live under here. */
  dataDir: string;
  /** Identifies this installation's instances among others on the same engine. */
  ownerId: string;
  interpreters: Record<RuntimeName, string>;
  /** Runtimes a user pointed at an image of their own (it must contain the interpreter). */
  customImages: Partial<Record<RuntimeName, string>>;
  /** The iptables command the network isolation rules are installed with (e.g. iptables-legacy). */
  iptables: string;
  docker: {
    /** DOCKER_HOST-style address (unix:///path, tcp://host:port); unset = the local socket. */
    host?: string;
    /** TLS with the engine verified (DOCKER_TLS_VERIFY): ca.pem, cert.pem, key.pem in certPath. */
    tls?: { certPath: string };
    /**
     * How the agent in a container is reached: a bind-mounted unix socket
     * (needs the engine on this host), an exec relay over the Docker API, or
     * auto (socket for a unix:// engine, exec for tcp://).
     */
    agentTransport: "auto" | "socket" | "exec";
    cpus: number;
    pidsLimit: number;
    tmpMb: number;
  };
  nanos: {
    /** Kernel, boot image and mkfs of a Nanos build; unset = found in the ops install (opsDir). */
    kernel?: string;
    boot?: string;
    mkfs?: string;
    /** The ops binary, used to build images where there is no mkfs. */
    ops?: string;
    /** ops's home folder (~/.ops): releases in <version>/, the binary in bin/ops. */
    opsDir: string;
    /** A Nanos build's folder (kernel.img, boot.img, mkfs), the last place looked. */
    buildDir?: string;
    /** qemu-system-x86_64, by name (searched on PATH) or path. */
    qemu: string;
    /** KVM when a probe boot works (auto), or forced. */
    accel: "auto" | "kvm" | "tcg";
    /** Images, the compiled Python stdlib and saved VM states (content-addressed, shareable). */
    cacheDir: string;
    /** Loopback ports forwarded to the VMs' agents. */
    ports: { min: number; max: number };
    /** Restore new VMs from a saved generic VM instead of booting them. */
    snapshots: boolean;
  };
  pools: {
    /** Generic prewarmed instances kept per engine and runtime. */
    genericPerRuntime: number;
    /** Memory a generic instance starts with, until specialized. */
    genericMemoryMb: number;
    /** Idle specialized instances are removed after this long. */
    idleTtlMs: number;
    /** How long a call waits for a free instance before answering 429. */
    acquireTimeoutMs: number;
    /** Host-wide budget: instances and memory across engines. */
    maxInstances: number;
    maxMemoryMb: number;
  };
  /** stdout and stderr cap per call, each. */
  outputLimitBytes: number;
  bootTimeoutMs: number;
}
