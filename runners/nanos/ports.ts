import net from "node:net";
import { PortTakenError } from "./qemu";

/**
 * Loopback ports for the VMs' forwarded agent ports. A port is handed out
 * only if this process does not already use it and a test bind on
 * 127.0.0.1 succeeds; another process can still take it before qemu binds,
 * so a launch that fails with PortTakenError is retried on another port
 * (withFreePort).
 */
export class PortAllocator {
  private readonly used = new Set<number>();

  constructor(
    private readonly range: { min: number; max: number },
    private readonly isFree: (port: number) => Promise<boolean> = isPortFree,
  ) {
    if (range.min < 1 || range.max > 65535 || range.min > range.max) {
      throw new RangeError(`Bad port range ${range.min}-${range.max}`);
    }
  }

  get inUse(): ReadonlySet<number> {
    return this.used;
  }

  /** A free port, marked used until released; `skip` are ports this caller found taken. */
  async reserve(skip: ReadonlySet<number> = new Set()): Promise<number> {
    const size = this.range.max - this.range.min + 1;
    // A random start spreads VMs over the range, so a port freed a moment ago
    // (its socket perhaps in TIME_WAIT) is not the next one tried.
    const start = Math.floor(Math.random() * size);
    for (let i = 0; i < size; i++) {
      const port = this.range.min + ((start + i) % size);
      if (this.used.has(port) || skip.has(port)) continue;
      this.used.add(port); // before the await: a concurrent reserve must not pick it too
      if (await this.isFree(port)) return port;
      this.used.delete(port);
    }
    throw new Error(`No free loopback port in ${this.range.min}-${this.range.max} (NANOS_PORTS)`);
  }

  release(port: number) {
    this.used.delete(port);
  }
}

/**
 * Runs `attempt` with a reserved port; when it fails because the port was
 * taken meanwhile (qemu: "Could not set up host forwarding rule"), tries
 * again on another. The port stays reserved for the caller on success.
 */
export async function withFreePort<T>(
  ports: PortAllocator,
  attempt: (port: number) => Promise<T>,
  maxAttempts = 5,
): Promise<T> {
  const taken = new Set<number>();
  for (let i = 1; ; i++) {
    const port = await ports.reserve(taken);
    try {
      return await attempt(port);
    } catch (error) {
      ports.release(port);
      if (!(error instanceof PortTakenError) || i >= maxAttempts) throw error;
      taken.add(port);
    }
  }
}

export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

export function parsePortRange(value: string): { min: number; max: number } {
  const match = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(value);
  if (!match) throw new RangeError(`Use a port range like 20000-29999, not "${value}"`);
  return { min: Number(match[1]), max: Number(match[2]) };
}
