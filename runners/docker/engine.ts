import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type Docker from "dockerode";
import type { RunnerConfig } from "../config";
import { AGENT_GUEST_PATH } from "../images/runtime-files";
import { transition } from "../instance-state";
import { LABELS } from "../labels";
import {
  CONTAINER_NETWORK,
  guardContainerNetwork,
  type NetworkGuardStatus,
  networkRefusal,
} from "../network-guard";
import {
  type Engine,
  type EngineStatus,
  EngineUnavailableError,
  type InstanceSpec,
  RUNTIMES,
  type RuntimeName,
} from "../types";
import {
  type DockerConnection,
  describeDockerError,
  openDockerConnection,
  pingDocker,
} from "./connection";
import { openExecRelay, relayCommand } from "./exec-relay";
import { DockerImageBuilder } from "./image-builder";
import { DockerInstance } from "./instance";

const MiB = 1024 * 1024;
const GUEST_DIR = "/run/cloudless";
const AGENT_USER = "65534:65534";
/**
 * The engine does not answer a ping in this long: at start, reported
 * unavailable (not waited on); as a liveness probe (engine-watch.ts), lost.
 */
const PING_TIMEOUT_MS = 2000;

/** How the node reaches the agent in a container (decision 0014). */
export type AgentTransport = "socket" | "exec";

/**
 * Functions in Docker containers (dockerode against the local engine or
 * DOCKER_HOST, over TLS when DOCKER_TLS_VERIFY is set). Each container: the
 * runtime image, the agent on a unix socket (in a bind-mounted host folder for
 * an engine on this host, in a container-local tmpfs reached through an exec
 * relay for one on another host), no network unless asked, read-only root
 * with a small /tmp, a non-root user, no capabilities, no-new-privileges, and
 * memory, CPU and pids limits.
 */
export class DockerEngine implements Engine {
  readonly name = "docker" as const;
  private readonly connection: DockerConnection;
  /** The same engine for liveness probes only, over a new connection each time (see check()). */
  private readonly prober: DockerConnection;
  /** Bind-mounted socket for a local engine; an exec relay for a remote one (or when configured). */
  readonly transport: AgentTransport;
  private state: EngineStatus = { available: false, reason: "Docker engine not started yet" };
  private images = new Map<RuntimeName, { tag: string; interpreter: string }>();
  private readonly instancesDir: string;
  private networkGuard: NetworkGuardStatus = { ok: false, reason: "not set up yet" };
  /** The last start could not reach the engine: check() tries start() again. */
  private unreachable = false;
  /** The engine was lost since it last started; its reason says so. */
  private lost = false;
  /** Counts losses: a container launched before one is never handed out after it. */
  private epoch = 0;
  private progress: (line: string) => void = () => {};

  constructor(private readonly config: RunnerConfig) {
    this.connection = openDockerConnection(config.docker);
    const remote = this.connection.ok && this.connection.remote;
    this.transport =
      config.docker.agentTransport === "auto"
        ? remote
          ? "exec"
          : "socket"
        : config.docker.agentTransport;
    this.instancesDir = path.join(config.dataDir, "instances", "docker");
    // A dockerd that is shutting down has stopped listening but still answers
    // on connections kept alive from before: a probe over one would find it alive.
    this.prober = openDockerConnection(config.docker, { freshConnections: true });
  }

  private get docker(): Docker {
    if (!this.connection.ok) throw new EngineUnavailableError(this.connection.reason);
    return this.connection.docker;
  }

  status(): EngineStatus {
    return this.state;
  }

  async start(progress: (line: string) => void = () => {}) {
    this.progress = progress;
    const connection = this.connection;
    if (!connection.ok) {
      this.state = {
        available: false,
        reason: `Cannot use the Docker engine at ${connection.where}: ${connection.reason}`,
      };
      return;
    }
    try {
      await this.ping();
    } catch (error) {
      this.unreachable = true;
      const message = describeDockerError(error);
      this.state = {
        available: false,
        reason: this.lost
          ? lostReason(connection.where, message)
          : `Cannot reach the Docker engine at ${connection.where} (${message}). ${this.reachHint()}`,
      };
      return;
    }
    this.unreachable = false;
    await this.removeLeftovers(progress);
    try {
      const builder = new DockerImageBuilder(this.docker, this.config.interpreters);
      for (const runtime of RUNTIMES) {
        const custom = this.config.customImages[runtime];
        if (custom) {
          this.images.set(runtime, {
            tag: custom,
            interpreter: runtime === "python" ? "python3" : "node",
          });
          continue;
        }
        const image = await builder.ensure(runtime, progress);
        this.images.set(runtime, { tag: image.tag, interpreter: image.interpreter });
      }
      this.networkGuard = await this.isolateNetwork().catch((error: Error) => ({
        ok: false as const,
        reason: `could not create its Docker network (${error.message})`,
      }));
      if (!this.networkGuard.ok) progress(networkRefusal(this.networkGuard.reason));
      const version = (await this.docker.version()).Version;
      this.lost = false;
      this.state = { available: true, detail: `Docker ${version}` };
    } catch (error) {
      this.state = {
        available: false,
        reason: `Could not build the runtime images: ${(error as Error).message}`,
      };
    }
  }

  private reachHint(): string {
    if (!this.connection.ok || !this.connection.remote) {
      return "Install and start it (scripts/setup-docker.sh) or set DOCKER_HOST.";
    }
    if (this.config.docker.tls) {
      return `Check that it listens there with --tlsverify, and that ${this.config.docker.tls.certPath} holds the CA that signed its certificate (ca.pem) and a client certificate it trusts (cert.pem, key.pem).`;
    }
    return "Check that it listens there; an engine started with --tlsverify also needs DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH.";
  }

  /**
   * Probes the engine (engine-watch.ts). A running engine that does not
   * answer within PING_TIMEOUT_MS is lost: unavailable at once, so no call
   * waits on it. One that could not be reached is started again, which
   * rebuilds missing images, recreates the network and removes the
   * containers of ours that died with it.
   */
  async check(): Promise<EngineStatus> {
    if (this.state.available) {
      try {
        await this.ping();
      } catch (error) {
        this.epoch += 1;
        this.lost = true;
        this.unreachable = true;
        this.state = { available: false, reason: lostReason(this.where, (error as Error).message) };
      }
    } else if (this.unreachable) {
      await this.start(this.progress).catch((error: Error) => {
        this.unreachable = true;
        this.state = { available: false, reason: lostReason(this.where, error.message) };
      });
    }
    return this.state;
  }

  private ping() {
    if (!this.prober.ok) return Promise.reject(new Error(this.prober.reason));
    return pingDocker(this.prober.docker, PING_TIMEOUT_MS);
  }

  private get where() {
    return this.connection.where;
  }

  /** Containers and folders that a previous process of this installation left behind. */
  private async removeLeftovers(progress: (line: string) => void) {
    const leftovers = await this.docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.managed}=true`, `${LABELS.owner}=${this.config.ownerId}`] },
    });
    if (leftovers.length > 0)
      progress(`Removing ${leftovers.length} container(s) left by a previous run`);
    await Promise.all(
      leftovers.map((c) =>
        this.docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch(() => {}),
      ),
    );
    await fs.rm(this.instancesDir, { recursive: true, force: true });
  }

  /**
   * The network of network-enabled containers and the host's firewall rules
   * for it (see network-guard.ts). Only for an engine on this host: a remote
   * engine's host firewall is not ours to set, so there the network stays off.
   */
  private async isolateNetwork(): Promise<NetworkGuardStatus> {
    if (!this.connection.ok || this.connection.remote) {
      return {
        ok: false,
        reason: `the Docker engine at ${this.connection.where} is on another host`,
      };
    }
    const existing = await this.docker.listNetworks({
      filters: { name: [CONTAINER_NETWORK.name] },
    });
    if (!existing.some((n) => n.Name === CONTAINER_NETWORK.name)) {
      // The bridge is there but not this engine's: a second engine on this
      // host would take over (and on removal delete) the first one's bridge.
      if (await bridgeExists(CONTAINER_NETWORK.bridge)) {
        return {
          ok: false,
          reason: `the bridge ${CONTAINER_NETWORK.bridge} belongs to another Docker engine on this host`,
        };
      }
      await this.docker
        .createNetwork({
          Name: CONTAINER_NETWORK.name,
          Driver: "bridge",
          Options: {
            "com.docker.network.bridge.name": CONTAINER_NETWORK.bridge,
            // Containers of different functions and users never talk to each other.
            "com.docker.network.bridge.enable_icc": "false",
          },
          Labels: { [LABELS.managed]: "true" },
        })
        .catch((error: Error) => {
          // Another installation created it at the same moment.
          if (!/already exists/i.test(error.message)) throw error;
        });
    }
    return guardContainerNetwork(this.config.iptables);
  }

  async launch(spec: InstanceSpec): Promise<DockerInstance> {
    const image = this.images.get(spec.runtime);
    if (!this.state.available || !image) {
      throw new EngineUnavailableError(
        this.state.available ? `No ${spec.runtime} image` : this.state.reason,
      );
    }
    if (spec.network && !this.networkGuard.ok) {
      throw new EngineUnavailableError(networkRefusal(this.networkGuard.reason));
    }
    const started = performance.now();
    const epoch = this.epoch;
    const id = randomBytes(6).toString("hex");
    const guestSocket = `${GUEST_DIR}/agent.sock`;
    // Local engine: the socket's folder is a host folder bind-mounted into the
    // container. Exec relay: a tmpfs of the container's own, owned by the agent's user.
    const dir = this.transport === "socket" ? path.join(this.instancesDir, id) : undefined;
    if (dir) {
      await fs.mkdir(dir, { recursive: true });
      // The agent runs as nobody and creates its socket here.
      await fs.chmod(dir, 0o777);
    }
    const socketFolder: Pick<Docker.HostConfig, "Binds" | "Tmpfs"> = dir
      ? { Binds: [`${dir}:${GUEST_DIR}`] }
      : { Tmpfs: { [GUEST_DIR]: "rw,nosuid,nodev,noexec,size=1m,uid=65534,gid=65534,mode=0700" } };
    const container = await this.docker.createContainer({
      name: `cloudless-${this.config.ownerId.slice(0, 8)}-${id}`,
      Image: image.tag,
      Cmd: [image.interpreter, AGENT_GUEST_PATH[spec.runtime], "--socket", guestSocket],
      User: AGENT_USER,
      WorkingDir: "/tmp",
      Labels: {
        [LABELS.managed]: "true",
        [LABELS.owner]: this.config.ownerId,
        [LABELS.instanceId]: id,
        [LABELS.runtime]: spec.runtime,
      },
      HostConfig: {
        Memory: spec.memoryMb * MiB,
        // Swap limit equal to the memory limit: no swap, so exhaustion is an OOM kill, not a crawl.
        MemorySwap: spec.memoryMb * MiB,
        NanoCpus: Math.round(this.config.docker.cpus * 1e9),
        PidsLimit: this.config.docker.pidsLimit,
        ReadonlyRootfs: true,
        Tmpfs: {
          "/tmp": `rw,nosuid,nodev,size=${this.config.docker.tmpMb}m,mode=1777`,
          ...socketFolder.Tmpfs,
        },
        Binds: socketFolder.Binds,
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        NetworkMode: spec.network ? CONTAINER_NETWORK.name : "none",
        LogConfig: { Type: "json-file", Config: { "max-size": "1m", "max-file": "1" } },
      },
    });
    const relay = relayCommand(
      spec.runtime,
      image.interpreter,
      guestSocket,
      Math.ceil(this.config.bootTimeoutMs / 1000),
    );
    const instance = new DockerInstance(
      id,
      spec.runtime,
      spec.memoryMb,
      spec.network,
      container,
      dir,
      dir
        ? { socketPath: path.join(dir, "agent.sock") }
        : {
            connect: () => openExecRelay(container, relay, AGENT_USER, this.config.bootTimeoutMs),
          },
    );
    try {
      await container.start();
      await instance.agent.waitReady(this.config.bootTimeoutMs, async () => {
        const info = await container.inspect().catch(() => null);
        return Boolean(info?.State.Running);
      });
      if (this.epoch !== epoch) throw new EngineUnavailableError("The Docker engine restarted");
      instance.state = transition(instance.state, "booted");
      instance.bootMs = performance.now() - started;
      return instance;
    } catch (error) {
      if (error instanceof EngineUnavailableError) {
        await instance.destroy();
        throw error;
      }
      const diagnosis = await instance.diagnose();
      await instance.destroy();
      const log = diagnosis.log ? `\n${diagnosis.log}` : "";
      throw new Error(`Container failed to start: ${(error as Error).message}${log}`);
    }
  }

  async stop() {
    // Instances are destroyed by the manager; nothing engine-wide to release.
  }
}

function lostReason(where: string, message: string) {
  return `The Docker engine at ${where} stopped answering (${message}); calls work again once it is back.`;
}

function bridgeExists(name: string) {
  return fs.stat(`/sys/class/net/${name}`).then(
    () => true,
    () => false,
  );
}
