import type { RunnerConfig } from "../../runners/config";
import { openDockerConnection, pingDocker } from "../../runners/docker/connection";
import { locateNanos } from "../../runners/nanos/availability";
import type { EngineName, RuntimeName } from "../../runners/types";
import { DockerBench } from "./docker";
import { NanosBench } from "./nanos";

/** What the benchmark needs to see of an engine beyond the HTTP route. */
export interface EngineBench {
  readonly name: EngineName;
  /** This server's running instances of a runtime, with the agent's state when it answers. */
  instances(runtime: RuntimeName): Promise<InstanceView[]>;
  /** CPU time each running instance of the runtime has used so far (ms), by instance id. */
  cpuMs(runtime: RuntimeName): Promise<Map<string, number>>;
  /** Memory in use by one instance (MiB), as the engine's own tools report it. */
  memoryMiB(instance: InstanceView): Promise<number>;
  /** Runs `code` in a fresh instance of the runtime image the way a naive platform would; wall ms. */
  naiveRun(runtime: RuntimeName, code: string, expected: string): Promise<number>;
  /** Shown in the report: how naiveRun starts its instance. */
  naiveCommand(runtime: RuntimeName): Promise<string>;
  /** Removes instances a killed server left behind; returns how many. */
  removeLeftovers(): Promise<number>;
}

export interface InstanceView {
  id: string;
  runtime: RuntimeName;
  /** The agent's /health state: generic (no code yet), ready (specialized), or unreachable. */
  state: "generic" | "ready" | "failed" | "unreachable";
}

export interface EngineContext {
  /** The server's DATA_DIR (agent sockets live under it). */
  dataDir: string;
  /** The server's installation id (container labels), so other installations on the host are left alone. */
  ownerId: string;
}

/** Engines the benchmark can drive. */
const FACTORIES: Partial<Record<EngineName, (context: EngineContext) => EngineBench>> = {
  docker: (context) => new DockerBench(context),
  nanos: (context) => new NanosBench(context),
};

export const KNOWN_ENGINES: readonly EngineName[] = ["docker", "nanos"];

export function isSupportedEngine(name: string): name is EngineName {
  return name in FACTORIES;
}

/** Throws a clear message for unknown engines and for known ones not benchmarked yet. */
export function engineBench(name: string, context: EngineContext): EngineBench {
  const factory = FACTORIES[name as EngineName];
  if (factory) return factory(context);
  if ((KNOWN_ENGINES as readonly string[]).includes(name)) {
    throw new Error(
      `The benchmark does not support the ${name} engine yet (supported: ${supported()})`,
    );
  }
  throw new Error(`Unknown engine "${name}" (supported: ${supported()})`);
}

export function supported() {
  return Object.keys(FACTORIES).join(", ");
}

export type Availability = { available: true } | { available: false; reason: string };

/**
 * Cheap checks of what each engine needs on this machine, made before any
 * server starts, so a run of "every engine" can skip one with the reason
 * instead of failing halfway. They are the first steps the engines' own
 * start() takes; a problem only a real start finds (a failed image build,
 * no usable accelerator) still ends that engine's run with the server's reason.
 */
const PROBES: Record<EngineName, (config: RunnerConfig) => Promise<Availability>> = {
  docker: async (config) => {
    // The server's engine's own connection (DOCKER_HOST, TLS), so both see the same engine.
    const connection = openDockerConnection(config.docker);
    if (!connection.ok) return { available: false, reason: connection.reason };
    try {
      await pingDocker(connection.docker, 10_000);
      return { available: true };
    } catch (error) {
      return {
        available: false,
        reason: `cannot reach the Docker engine at ${connection.where} (${(error as Error).message})`,
      };
    }
  },
  nanos: async (config) => {
    const located = await locateNanos(config.nanos);
    return located.ok ? { available: true } : { available: false, reason: located.reason };
  },
};

/** Whether the benchmark can drive `name` here: a driver registered above, and the engine's tools present. */
export async function engineAvailability(
  name: EngineName,
  config: RunnerConfig,
): Promise<Availability> {
  const probed = await PROBES[name](config);
  if (!probed.available) return probed;
  if (!isSupportedEngine(name)) {
    return {
      available: false,
      reason: `the benchmark has no ${name} driver yet (an EngineBench in benchmark/engines/${name}.ts, registered in benchmark/engines/index.ts)`,
    };
  }
  return probed;
}
