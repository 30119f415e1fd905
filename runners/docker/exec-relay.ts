import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import type Docker from "dockerode";
import type { RuntimeName } from "../types";

/*
 * The agent transport for an engine on another host (decision 0014). The
 * agent listens on a unix socket in a tmpfs inside the container; a relay
 * started with `docker exec` joins its own stdin/stdout to that socket, and
 * the exec's stdin/stdout travel over the Docker API connection (hijacked,
 * TLS when the engine uses it). HTTP/1.1 to the agent then runs over that
 * stream as over any socket. Nothing touches this node's filesystem, and the
 * container still has no network.
 *
 * The relay is a few lines for the runtime's own interpreter (every image,
 * custom ones too, has it). It waits for the socket to appear, so one exec
 * can also serve the readiness check of a container still starting.
 */
const PYTHON_RELAY = `
import os, socket, sys, threading, time
s = socket.socket(socket.AF_UNIX)
deadline = time.monotonic() + float(sys.argv[2])
while True:
    try:
        s.connect(sys.argv[1])
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.005)
def up():
    while True:
        data = os.read(0, 65536)
        if not data:
            break
        s.sendall(data)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=up, daemon=True).start()
while True:
    data = s.recv(65536)
    if not data:
        break
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]
`;

const NODE_RELAY = `
const net = require("node:net");
const [socketPath, waitSeconds] = process.argv.slice(1);
const deadline = Date.now() + Number(waitSeconds) * 1000;
(function connect() {
  const s = net.connect(socketPath);
  s.once("error", (e) => { if (Date.now() > deadline) throw e; setTimeout(connect, 5); });
  s.once("connect", () => {
    s.removeAllListeners("error");
    s.on("error", () => process.exit(1));
    // Pipes are written synchronously on Linux: exiting loses nothing.
    s.on("close", () => process.exit(0));
    process.stdin.pipe(s);
    s.pipe(process.stdout);
  });
})();
`;

export function relayCommand(
  runtime: RuntimeName,
  interpreter: string,
  socketPath: string,
  waitSeconds: number,
): string[] {
  return runtime === "python"
    ? [interpreter, "-I", "-S", "-c", PYTHON_RELAY, socketPath, String(waitSeconds)]
    : [interpreter, "-e", NODE_RELAY, socketPath, String(waitSeconds)];
}

/**
 * Starts a relay in the container and returns its stream: bytes written reach
 * the agent's socket. An engine that does not answer within `timeoutMs` fails
 * the attempt (the request has no socket, so no socket timeout, until then).
 */
export async function openExecRelay(
  container: Docker.Container,
  command: string[],
  user: string,
  timeoutMs: number,
): Promise<Duplex> {
  const abort = new AbortController();
  // Cleared once connected: aborting later would tear down the live stream.
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const exec = await container.exec({
      Cmd: command,
      User: user,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      abortSignal: abort.signal,
    });
    const raw = (await exec.start({
      hijack: true,
      stdin: true,
      abortSignal: abort.signal,
    })) as Socket;
    // A request or an answer may be written in pieces (headers, body): with
    // Nagle's algorithm on a TCP engine connection, each piece after the first
    // would wait for a delayed ACK (~40 ms per call, measured over TLS).
    raw.setNoDelay(true);
    return new ExecStream(raw);
  } catch (error) {
    if (abort.signal.aborted)
      throw new Error(`the Docker engine did not start the agent relay in ${timeoutMs} ms`);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

const STDOUT = 1;
const STDERR = 2;
const HEADER = 8;

/**
 * The exec's stream as one duplex: writes go to the relay's stdin as they
 * are; reads are the relay's stdout, taken out of Docker's multiplexed frames
 * (8-byte header: stream, 0, 0, 0, size). Stderr is kept (its tail) to explain
 * a relay that ended without an answer. It also offers the few socket methods
 * Node's http client calls on its connections.
 */
export class ExecStream extends Duplex {
  private pending: Buffer = Buffer.alloc(0);
  private stderr = "";
  private sawOutput = false;

  private rawEnded = false;

  constructor(private readonly raw: Socket) {
    // Not half-open, like a net.Socket: once the relay's output ends the stream
    // finishes and closes, so an idle connection that ended leaves the pool.
    super({ allowHalfOpen: false });
    raw.on("data", (chunk: Buffer) => this.demux(chunk));
    raw.on("end", () => {
      this.rawEnded = true;
      if (!this.sawOutput && this.stderr.trim()) {
        this.destroy(new Error(`agent relay failed: ${this.stderr.trim().slice(-500)}`));
        return;
      }
      this.push(null);
    });
    raw.on("timeout", () => this.emit("timeout"));
    raw.on("error", (error) => this.destroy(error));
    // After a clean end, what is buffered is still read before the stream closes.
    raw.on("close", () => {
      if (!this.rawEnded) this.destroy();
    });
  }

  private demux(chunk: Buffer) {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= HEADER) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < HEADER + size) break;
      const kind = this.pending[0];
      const payload = this.pending.subarray(HEADER, HEADER + size);
      this.pending = this.pending.subarray(HEADER + size);
      if (kind === STDOUT) {
        this.sawOutput = true;
        if (!this.push(payload)) this.raw.pause();
      } else if (kind === STDERR) {
        this.stderr = (this.stderr + payload.toString("utf8")).slice(-4000);
      }
    }
  }

  override _read() {
    this.raw.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (e?: Error | null) => void) {
    this.raw.write(chunk, callback);
  }

  override _final(callback: (e?: Error | null) => void) {
    // Half-close: the relay's stdin ends, so it shuts its side of the agent's socket.
    this.raw.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (e?: Error | null) => void) {
    this.raw.destroy();
    callback(error);
  }

  // Socket methods Node's http client and agent call on a connection.
  setTimeout(ms: number, onTimeout?: () => void) {
    this.raw.setTimeout(ms);
    if (onTimeout) {
      if (ms === 0) this.removeListener("timeout", onTimeout);
      else this.once("timeout", onTimeout);
    }
    return this;
  }

  setNoDelay(noDelay?: boolean) {
    this.raw.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable?: boolean, initialDelay?: number) {
    this.raw.setKeepAlive(enable, initialDelay);
    return this;
  }

  ref() {
    this.raw.ref();
    return this;
  }

  unref() {
    this.raw.unref();
    return this;
  }
}
