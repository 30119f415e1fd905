import { execFile } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { LABELS } from "../../runners/labels";
import type { RuntimeName } from "../../runners/types";
import type { EngineBench, EngineContext, InstanceView } from "./index";

const run = promisify(execFile);
const MiB = 1024 * 1024;

interface ContainerView extends InstanceView {
  containerId: string;
  image: string;
  interpreter: string;
}

/**
 * The Docker engine seen from outside the server: its containers by label
 * (this installation's owner id only: other work may share the engine), the
 * agents' /health over their unix sockets in DATA_DIR, memory through the
 * Docker API, and the naive `docker run --rm` baseline through the CLI.
 */
export class DockerBench implements EngineBench {
  readonly name = "docker" as const;
  // dockerode reads DOCKER_HOST itself, as the docker CLI does.
  private readonly docker = new Docker();
  private readonly images = new Map<RuntimeName, { image: string; interpreter: string }>();

  constructor(private readonly context: EngineContext) {}

  async instances(runtime: RuntimeName): Promise<ContainerView[]> {
    const containers = await this.docker.listContainers({
      filters: {
        label: [
          `${LABELS.managed}=true`,
          `${LABELS.owner}=${this.context.ownerId}`,
          `${LABELS.runtime}=${runtime}`,
        ],
        status: ["running"],
      },
    });
    return Promise.all(
      containers.map(async (c) => {
        const id = c.Labels[LABELS.instanceId] ?? c.Id;
        return {
          id,
          runtime,
          containerId: c.Id,
          image: c.Image,
          interpreter: c.Command.split(" ")[0] ?? runtime,
          state: await this.agentState(id),
        };
      }),
    );
  }

  /**
   * Asks the agent directly, on a connection of its own (the agents serve
   * each connection separately, so this never queues behind the server's).
   * Where the engine puts the socket: runners/docker/engine.ts.
   */
  private agentState(instanceId: string): Promise<InstanceView["state"]> {
    const socketPath = path.join(
      this.context.dataDir,
      "instances",
      "docker",
      instanceId,
      "agent.sock",
    );
    return new Promise((resolve) => {
      const req = http.get({ socketPath, path: "/health", agent: false, timeout: 1000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { state?: string };
            const state = body.state;
            resolve(
              state === "generic" || state === "ready" || state === "failed"
                ? state
                : "unreachable",
            );
          } catch {
            resolve("unreachable");
          }
        });
        res.on("error", () => resolve("unreachable"));
      });
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve("unreachable"));
    });
  }

  async cpuMs(runtime: RuntimeName): Promise<Map<string, number>> {
    const containers = await this.instances(runtime);
    const entries = await Promise.all(
      containers.map(async (c) => {
        const stats = (await this.stats(c.containerId)) as {
          cpu_stats?: { cpu_usage?: { total_usage?: number } };
        };
        return [c.id, (stats.cpu_stats?.cpu_usage?.total_usage ?? 0) / 1e6] as const;
      }),
    );
    return new Map(entries);
  }

  /** One sample, without waiting a second for a second one to compute a CPU rate (API 1.41+). */
  private stats(containerId: string): Promise<unknown> {
    return this.docker
      .getContainer(containerId)
      .stats({ stream: false, "one-shot": true } as { stream: false });
  }

  /** `docker stats`' MEM USAGE: usage minus inactive file cache (cgroup v1 and v2 names). */
  async memoryMiB(instance: InstanceView): Promise<number> {
    const view = instance as ContainerView;
    const stats = (await this.stats(view.containerId)) as {
      memory_stats: { usage?: number; stats?: Record<string, number> };
    };
    const usage = stats.memory_stats.usage ?? 0;
    const cache = stats.memory_stats.stats ?? {};
    const v1 = cache.total_inactive_file;
    if (v1 !== undefined && v1 < usage) return (usage - v1) / MiB;
    const v2 = cache.inactive_file;
    if (v2 !== undefined && v2 < usage) return (usage - v2) / MiB;
    return usage / MiB;
  }

  /** The image and interpreter the server's own containers of this runtime use. */
  private async runtimeImage(
    runtime: RuntimeName,
  ): Promise<{ image: string; interpreter: string }> {
    const known = this.images.get(runtime);
    if (known) return known;
    const [first] = await this.instances(runtime);
    if (!first) throw new Error(`No running ${runtime} container to take the runtime image from`);
    const image = { image: first.image, interpreter: first.interpreter };
    this.images.set(runtime, image);
    return image;
  }

  async naiveCommand(runtime: RuntimeName): Promise<string> {
    const { image, interpreter } = await this.runtimeImage(runtime);
    return `docker run --rm --network none [--label owner] ${image} ${interpreter} ${flagFor(runtime)} '<code>'`;
  }

  async naiveRun(runtime: RuntimeName, code: string, expected: string): Promise<number> {
    const { image, interpreter } = await this.runtimeImage(runtime);
    const started = performance.now();
    const { stdout } = await run("docker", [
      "run",
      "--rm",
      "--network",
      "none",
      // Free at run time; lets removeLeftovers find one a Ctrl-C left half-made.
      "--label",
      `${LABELS.owner}=${this.context.ownerId}`,
      image,
      interpreter,
      flagFor(runtime),
      code,
    ]);
    const ms = performance.now() - started;
    if (stdout.trim() !== expected) {
      throw new Error(
        `The baseline printed ${JSON.stringify(stdout.trim())}, expected ${expected}`,
      );
    }
    return ms;
  }

  async removeLeftovers(): Promise<number> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.managed}=true`, `${LABELS.owner}=${this.context.ownerId}`] },
    });
    await Promise.all(
      containers.map((c) =>
        this.docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch(() => {}),
      ),
    );
    return containers.length;
  }
}

function flagFor(runtime: RuntimeName) {
  return runtime === "python" ? "-c" : "-e";
}
