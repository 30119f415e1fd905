import type { EngineName } from "../../runners/types";
import { DOCKER_ENV } from "./docker";
import { findNanos, NANOS_ENV, VM_TEST_TIMEOUT_MS } from "./nanos";

/**
 * One engine as engine-parametrized suites see it: the settings a test app
 * needs to run it, why it cannot run here (Nanos without a kernel), and the
 * per-test time it gets. Suites write their bodies once:
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
}

/** Docker always (its tests fail without an engine); Nanos wherever a kernel is found (see findNanos). */
export async function enginesUnderTest(): Promise<EngineUnderTest[]> {
  const nanos = await findNanos();
  return [
    { name: "docker", env: { ...DOCKER_ENV }, timeoutMs: 60_000 },
    {
      name: "nanos",
      env: { ...NANOS_ENV, ...nanos.env },
      skip: nanos.skip,
      timeoutMs: VM_TEST_TIMEOUT_MS,
    },
  ];
}
