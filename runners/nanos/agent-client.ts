import { randomBytes } from "node:crypto";
import { type AgentAddress, AgentClient, type AgentResponse } from "../agent-client";

/**
 * The agent client of one VM. It adds what a VM restored from a snapshot
 * needs to become its own instance (docs/agent-protocol.md, "Instances
 * restored from a snapshot"): a fresh random `seed` with /init, and the
 * host's clock (`hostTimeMs`) with /init and /run. Booted VMs get the same,
 * so both kinds behave alike.
 */
export class NanosAgentClient extends AgentClient {
  private readonly seed = randomBytes(32).toString("hex");

  constructor(address: AgentAddress) {
    super(address);
  }

  override request<T>(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    options?: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<AgentResponse<T>> {
    if (method === "POST" && body && typeof body === "object") {
      if (path === "/init") body = { ...body, seed: this.seed, hostTimeMs: Date.now() };
      else if (path === "/run") body = { ...body, hostTimeMs: Date.now() };
    }
    return super.request<T>(method, path, body, options);
  }
}
