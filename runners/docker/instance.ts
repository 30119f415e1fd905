import fs from "node:fs/promises";
import type Docker from "dockerode";
import { type AgentAddress, AgentClient } from "../agent-client";
import { type InstanceState, transition } from "../instance-state";
import type { EngineName, Instance, InstanceDiagnosis, RuntimeName } from "../types";

const MiB = 1024 * 1024;

/**
 * A container running the agent, reached through the unix socket in its host
 * folder (local engine) or through an exec relay (remote engine; no folder).
 */
export class DockerInstance implements Instance {
  readonly engine: EngineName = "docker";
  state: InstanceState = "starting";
  readonly agent: AgentClient;
  bootMs = 0;
  private destroyed?: Promise<void>;

  constructor(
    readonly id: string,
    readonly runtime: RuntimeName,
    public memoryMb: number,
    readonly network: boolean,
    private readonly container: Docker.Container,
    private readonly dir: string | undefined,
    address: AgentAddress,
  ) {
    this.agent = new AgentClient(address);
  }

  async resize(memoryMb: number) {
    if (memoryMb === this.memoryMb) return;
    await this.container.update({ Memory: memoryMb * MiB, MemorySwap: memoryMb * MiB });
    this.memoryMb = memoryMb;
  }

  async diagnose(): Promise<InstanceDiagnosis> {
    try {
      let info = await this.container.inspect();
      // The agent's connection drops a moment before the engine records the
      // exit (and whether the kernel's OOM killer caused it): wait for that.
      for (let waited = 0; info.State.Running && waited < 2000; waited += 50) {
        await new Promise((r) => setTimeout(r, 50));
        info = await this.container.inspect();
      }
      return {
        oomKilled: Boolean(info.State.OOMKilled),
        running: Boolean(info.State.Running),
        exitCode: info.State.Running ? undefined : info.State.ExitCode,
        log: await this.logTail(),
      };
    } catch {
      return { oomKilled: false, running: false };
    }
  }

  private async logTail(): Promise<string> {
    const buffer = (await this.container.logs({ stdout: true, stderr: true, tail: 40 })) as Buffer;
    // Multiplexed stream frames: 8-byte headers before each chunk.
    const parts: string[] = [];
    for (let i = 0; i + 8 <= buffer.length; ) {
      const size = buffer.readUInt32BE(i + 4);
      parts.push(buffer.subarray(i + 8, i + 8 + size).toString("utf8"));
      i += 8 + size;
    }
    return parts.join("").slice(-4000);
  }

  destroy(): Promise<void> {
    this.destroyed ??= (async () => {
      this.state = transition(this.state, "remove");
      this.agent.close();
      await this.container.remove({ force: true, v: true }).catch(() => {});
      if (this.dir) await fs.rm(this.dir, { recursive: true, force: true }).catch(() => {});
    })();
    return this.destroyed;
  }
}
