import fs from "node:fs/promises";
import { type InstanceState, transition } from "../instance-state";
import type { EngineName, Instance, InstanceDiagnosis, RuntimeName } from "../types";
import { NanosAgentClient } from "./agent-client";
import type { PortAllocator } from "./ports";
import type { QemuProcess } from "./qemu";

/** What Nanos prints when a page cannot be backed: the program then dies of SIGBUS. */
const OUT_OF_MEMORY = /page fill failed with \(result:out of memory\)|out of memory/i;

/**
 * A Nanos VM running the agent, reached through its forwarded loopback
 * port. Its memory is fixed at boot (`-m`), so it has no `resize`: a generic
 * VM only serves functions of its own size.
 */
export class NanosInstance implements Instance {
  readonly engine: EngineName = "nanos";
  state: InstanceState = "starting";
  readonly agent: NanosAgentClient;
  bootMs = 0;
  private destroyed?: Promise<void>;

  constructor(
    readonly id: string,
    readonly runtime: RuntimeName,
    public memoryMb: number,
    readonly network: boolean,
    /** Booted from the image, or restored from a saved generic VM. */
    readonly bootMode: "boot" | "restore",
    readonly vm: QemuProcess,
    readonly port: number,
    private readonly dir: string,
    private readonly consoleLog: string,
    private readonly ports: PortAllocator,
  ) {
    this.agent = new NanosAgentClient({ host: "127.0.0.1", port });
  }

  get pid() {
    return this.vm.pid;
  }

  async diagnose(): Promise<InstanceDiagnosis> {
    // The agent's connection drops a moment before qemu exits (Nanos shuts
    // the VM down when its program dies): wait for that, briefly.
    for (let waited = 0; this.vm.running && waited < 2000; waited += 50) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const log = await consoleTail(this.consoleLog);
    return {
      oomKilled: OUT_OF_MEMORY.test(log),
      running: this.vm.running,
      exitCode: this.vm.guestExitCode,
      log,
    };
  }

  destroy(): Promise<void> {
    this.destroyed ??= (async () => {
      this.state = transition(this.state, "remove");
      this.agent.close();
      await this.vm.kill();
      this.ports.release(this.port);
      await fs.rm(this.dir, { recursive: true, force: true }).catch(() => {});
    })();
    return this.destroyed;
  }
}

/** The end of a serial console log, without the register and stack dumps of a crash. */
export async function consoleTail(file: string, chars = 4000): Promise<string> {
  const text = await fs.readFile(file, "utf8").catch(() => "");
  const lines = text
    .split("\n")
    .filter(
      (l) =>
        !/^\s*[0-9a-f]{16}:\s+[0-9a-f]{16}\s*$/i.test(l) && !/^\s+\w+:\s+[0-9a-f]{16}$/i.test(l),
    );
  return lines.join("\n").trim().slice(-chars);
}
