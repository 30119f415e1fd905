import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ExecStream } from "./exec-relay";

// The exec stream's framing, against a real socket pair standing in for the
// hijacked Docker API connection (the real relay runs in the Docker suites).

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const done of cleanup.splice(0)) done();
});

async function socketPair(): Promise<{ engine: net.Socket; node: net.Socket }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((r) => server.once("connection", r));
  const node = net.connect(port, "127.0.0.1");
  const engine = await accepted;
  cleanup.push(() => {
    node.destroy();
    engine.destroy();
    server.close();
  });
  return { engine, node };
}

function frame(stream: 1 | 2, text: string | Buffer): Buffer {
  const payload = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

function collect(stream: ExecStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c));
  return new Promise((resolve, reject) => {
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

describe("ExecStream", () => {
  it("reads stdout out of the frames, however the bytes are split; stderr is not data", async () => {
    const { engine, node } = await socketPair();
    const stream = new ExecStream(node);
    const received = collect(stream);
    const big = Buffer.alloc(200_000, 0x61);
    const wire = Buffer.concat([
      frame(1, "HTTP/1.1 200 OK\r\n"),
      frame(2, "a warning"),
      frame(1, big),
    ]);
    // Split at awkward places: inside a header, inside a payload.
    for (const [from, to] of [
      [0, 3],
      [3, 30],
      [30, 40],
      [40, wire.length],
    ] as const) {
      engine.write(wire.subarray(from, to));
      await new Promise((r) => setTimeout(r, 5));
    }
    engine.end();
    expect(Buffer.concat([Buffer.from("HTTP/1.1 200 OK\r\n"), big]).equals(await received)).toBe(
      true,
    );
  });

  it("writes go to the relay's stdin unframed, and ending it half-closes the connection", async () => {
    const { engine, node } = await socketPair();
    const stream = new ExecStream(node);
    const upstream = new Promise<string>((resolve) => {
      let text = "";
      engine.on("data", (c) => {
        text += c;
      });
      engine.on("end", () => resolve(text));
    });
    stream.write("GET /health HTTP/1.1\r\n");
    stream.end("\r\n");
    expect(await upstream).toBe("GET /health HTTP/1.1\r\n\r\n");
  });

  it("an ended relay closes the stream once its last bytes are read, without a reader destroying it", async () => {
    const { engine, node } = await socketPair();
    const stream = new ExecStream(node);
    stream.pause();
    engine.end(frame(1, "last answer"));
    await new Promise((r) => setTimeout(r, 50));
    // Paused: the bytes wait, not lost to the raw socket's close.
    expect(stream.destroyed).toBe(false);
    const closed = new Promise<void>((r) => stream.once("close", () => r()));
    const received = collect(stream);
    stream.resume(); // a 'data' listener does not undo an explicit pause
    expect((await received).toString()).toBe("last answer");
    await closed;
  });

  it("a relay that ends with only stderr fails with what it said", async () => {
    const { engine, node } = await socketPair();
    const stream = new ExecStream(node);
    const received = collect(stream);
    engine.end(frame(2, "ConnectionRefusedError: [Errno 111] Connection refused\n"));
    await expect(received).rejects.toThrow(/agent relay failed: ConnectionRefusedError/);
  });

  it("answers the socket methods Node's http client calls, and times out like a socket", async () => {
    const { node } = await socketPair();
    const stream = new ExecStream(node);
    expect(stream.setNoDelay(true)).toBe(stream);
    expect(stream.setKeepAlive(true, 1000)).toBe(stream);
    expect(stream.unref()).toBe(stream);
    expect(stream.ref()).toBe(stream);
    const timedOut = new Promise<void>((resolve) => stream.setTimeout(30, resolve));
    await timedOut;
    stream.destroy();
    expect(node.destroyed).toBe(true);
  });
});
