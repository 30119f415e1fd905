import { LABELS } from "../../runners/labels";
import { CONTAINER_NETWORK } from "../../runners/network-guard";
import type { EngineName } from "../../runners/types";
import type { TestApp } from "./app";
import {
  type CallOptions,
  call,
  callOk,
  type Deployed,
  DOCKER_ENV,
  docker,
  ownerContainers,
  ownerOf,
  removeOwnerContainers,
  waitFor,
} from "./docker";
import type { TestUser } from "./functions";
import { findNanos, isAlive, killVms, NANOS_ENV, VM_TEST_TIMEOUT_MS, vmsOf } from "./nanos";

/**
 * One engine as engine-parametrized suites see it: the settings a test app
 * needs to run it, why it cannot run here (Nanos without a kernel), the
 * per-test time it gets, and what a test needs to look at its instances.
 * Suites write their bodies once:
 *
 *   describe.each(await enginesUnderTest())("$name: …", (engine) => {
 *     // engine.skip → describe.skipIf; engine.env → startTestApp
 *   });
 */
export interface EngineUnderTest {
  name: EngineName;
  env: Record<string, string>;
  skip?: string;
  timeoutMs: number;
  /** The host as a network-enabled instance sees it: the gateway that leads to the host itself. */
  hostGateway(): Promise<string>;
  /** Ids of this app's running instances of this engine. */
  instanceIds(app: TestApp): Promise<string[]>;
  /** Removes whatever this app left (a test that failed half-way). */
  cleanUp(app: TestApp): Promise<void>;
}

const dockerEngine: EngineUnderTest = {
  name: "docker",
  env: { ...DOCKER_ENV },
  timeoutMs: 60_000,
  async hostGateway() {
    const network = await docker.getNetwork(CONTAINER_NETWORK.name).inspect();
    const gateway = network.IPAM?.Config?.[0]?.Gateway;
    if (!gateway) throw new Error(`${CONTAINER_NETWORK.name} has no gateway`);
    return gateway as string;
  },
  async instanceIds(app) {
    const running = await ownerContainers(ownerOf(app), false);
    return running.map((c) => c.Labels[LABELS.instanceId]!);
  },
  cleanUp: (app) => removeOwnerContainers(ownerOf(app)),
};

function nanosEngine(nanos: Awaited<ReturnType<typeof findNanos>>): EngineUnderTest {
  return {
    name: "nanos",
    env: { ...NANOS_ENV, ...nanos.env },
    skip: nanos.skip,
    timeoutMs: VM_TEST_TIMEOUT_MS,
    // qemu's user networking: 10.0.2.2 is the host's loopback.
    hostGateway: async () => "10.0.2.2",
    async instanceIds(app) {
      return vmsOf(app)
        .filter((vm) => isAlive(vm.pid))
        .map((vm) => vm.id);
    },
    async cleanUp(app) {
      killVms(vmsOf(app));
    },
  };
}

/** Docker always (its tests fail without an engine); Nanos wherever a kernel is found (see findNanos). */
export async function enginesUnderTest(): Promise<EngineUnderTest[]> {
  return [dockerEngine, nanosEngine(await findNanos())];
}

/** Calls through this engine's route. */
export function callOn(
  engine: EngineUnderTest,
  app: TestApp,
  caller: Pick<TestUser, "key">,
  fn: Pick<Deployed, "userId" | "handler">,
  options: CallOptions = {},
) {
  return call(app, caller, fn, { engine: engine.name, ...options });
}

export function callOkOn(
  engine: EngineUnderTest,
  app: TestApp,
  caller: Pick<TestUser, "key">,
  fn: Pick<Deployed, "userId" | "handler">,
  options: CallOptions = {},
) {
  return callOk(app, caller, fn, { engine: engine.name, ...options });
}

/** The one instance that appeared while `action` ran (the one a first call provisioned). */
export async function newInstance<T>(
  engine: EngineUnderTest,
  app: TestApp,
  action: () => Promise<T>,
): Promise<[T, string]> {
  const before = new Set(await engine.instanceIds(app));
  const result = await action();
  const added = (await engine.instanceIds(app)).filter((id) => !before.has(id));
  if (added.length !== 1) throw new Error(`Expected one new instance, found ${added.length}`);
  return [result, added[0]!];
}

/** Waits for an instance to be destroyed. */
export function instanceGone(engine: EngineUnderTest, app: TestApp, id: string) {
  return waitFor(`${engine.name} instance ${id} to be destroyed`, async () => {
    return !(await engine.instanceIds(app)).includes(id);
  });
}
