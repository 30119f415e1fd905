import { AgentClient } from "../agent-client";
import { type PortAllocator, withFreePort } from "./ports";
import { PortTakenError, QemuProcess, type QemuSpec } from "./qemu";

export type VmOptions = Omit<QemuSpec, "hostPort"> & {
  /** Called once qemu runs (its pid is known), before waiting: the state file for reaping. */
  onSpawn?(vm: QemuProcess, port: number): Promise<void>;
  timeoutMs: number;
};

/** A VM that did not come up: what qemu and the serial console said. */
export class VmStartError extends Error {}

/**
 * Starts a VM with a free loopback port forwarded to its agent and waits
 * until the agent answers /health. With `incoming` it restores a saved state
 * instead of booting: waits for qemu to report the state loaded ("paused",
 * no longer "inmigrate": a `cont` sent earlier is lost), then resumes it.
 * On failure the VM is killed.
 */
export async function startVm(
  ports: PortAllocator,
  options: VmOptions,
): Promise<{ vm: QemuProcess; port: number }> {
  return withFreePort(ports, async (port) => {
    const { onSpawn, timeoutMs, ...spec } = options;
    const vm = new QemuProcess({ ...spec, hostPort: port });
    try {
      await onSpawn?.(vm, port);
      const deadline = Date.now() + timeoutMs;
      if (spec.incoming) {
        await waitForIncoming(vm, deadline);
        await vm.monitorCommand("cont");
      }
      await waitForAgent(vm, port, deadline);
      return { vm, port };
    } catch (error) {
      await vm.kill();
      if (vm.portTaken) throw new PortTakenError(`Port ${port} is taken: ${vm.stderr}`);
      throw error;
    }
  });
}

async function waitForIncoming(vm: QemuProcess, deadline: number) {
  for (;;) {
    assertAlive(vm, "while loading the saved state");
    const status = await vm
      .monitorCommand("info status", Math.max(100, deadline - Date.now()))
      .catch(() => "");
    if (/paused/.test(status) && !/inmigrate/.test(status)) return;
    if (/running/.test(status)) return;
    if (Date.now() > deadline) {
      throw new VmStartError(`The saved state did not load in time (${status || "no status"})`);
    }
    await sleep(10);
  }
}

/**
 * Polls /health with short per-request timeouts: until the guest listens,
 * qemu's user networking accepts the host's connection and then leaves it
 * hanging instead of refusing it, so a long timeout would wait out every
 * early attempt.
 */
export async function waitForAgent(vm: QemuProcess, port: number, deadline: number) {
  const client = new AgentClient({ host: "127.0.0.1", port });
  let attemptMs = 250;
  let last = "no answer";
  try {
    for (;;) {
      assertAlive(vm, "while booting");
      try {
        const res = await client.request<{ ok?: boolean }>("GET", "/health", undefined, {
          timeoutMs: Math.max(50, Math.min(attemptMs, deadline - Date.now())),
        });
        if (res.status === 200 && res.body?.ok) return;
        last = `health answered ${res.status}`;
      } catch (error) {
        last = (error as Error).message;
      }
      if (Date.now() > deadline)
        throw new VmStartError(`The agent did not answer in time (${last})`);
      attemptMs = Math.min(1000, attemptMs * 1.5);
      await sleep(20);
    }
  } finally {
    // Closed before anything else happens to the VM (a snapshot must not hold this connection).
    client.close();
  }
}

function assertAlive(vm: QemuProcess, when: string) {
  if (!vm.running) {
    if (vm.portTaken) throw new PortTakenError(vm.stderr);
    const exit = vm.exit?.signal ?? `code ${vm.exit?.code}`;
    throw new VmStartError(`qemu exited ${when} (${exit})${vm.stderr ? `: ${vm.stderr}` : ""}`);
  }
  // Under nested virtualisation Nanos can stop at its first instructions with
  // KVM; qemu then pauses the VM instead of exiting.
  if (/KVM internal error/i.test(vm.stderr)) {
    throw new VmStartError(`qemu stopped ${when}: ${vm.stderr.split("\n")[0]}`);
  }
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
