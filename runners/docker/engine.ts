import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import path from "node:path";
import Docker from "dockerode";
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
import { DockerImageBuilder } from "./image-builder";
import { DockerInstance } from "./instance";

const MiB = 1024 * 1024;
const GUEST_DIR = "/run/cloudless";
/** A liveness probe (engine-watch.ts) gives up after this long: a hung engine counts as lost. */
const PING_TIMEOUT_MS = 2000;

/**
 * Functions in Docker containers (dockerode against the local engine or
 * DOCKER_HOST). Each container: the runtime image, the agent on a unix socket
 * in a bind-mounted host folder, no network unless asked, read-only root with
 * a small /tmp, a non-root user, no capabilities, no-new-privileges, and
 * memory, CPU and pids limits.
 */
export class DockerEngine implements Engine {
  readonly name = "docker" as const;
  private readonly docker: Docker;
  /** The same engine for liveness probes only, over a new connection each time (see check()). */
  private readonly prober: Docker;
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
    this.docker = config.docker.host
      ? new Docker(dockerHostOptions(config.docker.host))
      : new Docker();
    this.instancesDir = path.join(config.dataDir, "instances", "docker");
    // A dockerd that is shutting down has stopped listening but still answers
    // on connections kept alive from before: a probe over one would find it alive.
    const modem = this.docker.modem as { protocol?: string };
    const agent =
      modem.protocol === "https"
        ? new https.Agent({ keepAlive: false })
        : new http.Agent({ keepAlive: false });
    // docker-modem takes an agent; dockerode's types omit it.
    this.prober = new Docker({
      ...(config.docker.host ? dockerHostOptions(config.docker.host) : {}),
      agent,
    } as Docker.DockerOptions);
  }

  status(): EngineStatus {
    return this.state;
  }

  async start(progress: (line: string) => void = () => {}) {
    this.progress = progress;
    try {
      await this.ping();
    } catch (error) {
      this.unreachable = true;
      const message = (error as Error).message;
      this.state = {
        available: false,
        reason: this.lost
          ? lostReason(this.where, message)
          : `Cannot reach the Docker engine at ${this.where} (${message}). Install and start it (scripts/setup-docker.sh) or set DOCKER_HOST.`,
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
    // dockerode's types omit ping's options; docker-modem honours abortSignal.
    const ping = this.prober.ping as (options: { abortSignal: AbortSignal }) => Promise<unknown>;
    return ping.call(this.prober, { abortSignal: AbortSignal.timeout(PING_TIMEOUT_MS) });
  }

  private get where() {
    return this.config.docker.host ?? "unix:///var/run/docker.sock";
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
    const host = this.config.docker.host;
    if (host && !host.startsWith("unix://")) {
      return { ok: false, reason: `the Docker engine at ${host} is on another host` };
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
    const dir = path.join(this.instancesDir, id);
    await fs.mkdir(dir, { recursive: true });
    // The agent runs as nobody and creates its socket here.
    await fs.chmod(dir, 0o777);
    const container = await this.docker.createContainer({
      name: `cloudless-${this.config.ownerId.slice(0, 8)}-${id}`,
      Image: image.tag,
      Cmd: [
        image.interpreter,
        AGENT_GUEST_PATH[spec.runtime],
        "--socket",
        `${GUEST_DIR}/agent.sock`,
      ],
      User: "65534:65534",
      WorkingDir: "/tmp",
      Labels: {
        [LABELS.managed]: "true",
        [LABELS.owner]: this.config.ownerId,
        [LABELS.instanceId]: id,
        [LABELS.runtime]: spec.runtime,
      },
      HostConfig: {
        Binds: [`${dir}:${GUEST_DIR}`],
        Memory: spec.memoryMb * MiB,
        // Swap limit equal to the memory limit: no swap, so exhaustion is an OOM kill, not a crawl.
        MemorySwap: spec.memoryMb * MiB,
        NanoCpus: Math.round(this.config.docker.cpus * 1e9),
        PidsLimit: this.config.docker.pidsLimit,
        ReadonlyRootfs: true,
        Tmpfs: { "/tmp": `rw,nosuid,nodev,size=${this.config.docker.tmpMb}m,mode=1777` },
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        NetworkMode: spec.network ? CONTAINER_NETWORK.name : "none",
        LogConfig: { Type: "json-file", Config: { "max-size": "1m", "max-file": "1" } },
      },
    });
    const instance = new DockerInstance(
      id,
      spec.runtime,
      spec.memoryMb,
      spec.network,
      container,
      dir,
      path.join(dir, "agent.sock"),
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

function dockerHostOptions(host: string): Docker.DockerOptions {
  if (host.startsWith("unix://")) return { socketPath: host.slice("unix://".length) };
  const url = new URL(host.replace(/^tcp:/, "http:"));
  return { host: url.hostname, port: Number(url.port || 2375), protocol: "http" };
}
