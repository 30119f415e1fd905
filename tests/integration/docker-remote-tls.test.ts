import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LABELS } from "../../runners/labels";
import { type PrivateDockerd, startPrivateDockerd } from "../../scripts/lib/private-dockerd";
import { startTestApp, type TestApp } from "../helpers/app";
import {
  call,
  callOk,
  createTenant,
  type Deployed,
  DOCKER_ENV,
  deploy,
  ownerContainers,
  ownerOf,
  type Tenant,
  waitFor,
} from "../helpers/docker";
import { freePort } from "../helpers/ports";
import { makeTestPki, type TestPki } from "../helpers/tls-certs";

// A node driving a Docker engine "on another host": a second dockerd of the
// test's own, listening on a loopback TCP port with TLS and client-certificate
// verification, as a remote engine would. The node reaches it only through
// DOCKER_HOST=tcp://… (never its unix socket), builds its runtime images
// there, and reaches the agents through exec relays over the Docker API, so
// nothing depends on the node's filesystem being visible to the engine.

let dockerd: PrivateDockerd;
let pki: TestPki;
let strangerPki: TestPki;
let work: string;
let app: TestApp;
let alice: Tenant;
let firstStartMs = 0;

const appsToClose: TestApp[] = [];

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-remote-"));
  pki = await makeTestPki(path.join(work, "pki"));
  strangerPki = await makeTestPki(path.join(work, "stranger-pki"));
  dockerd = await startPrivateDockerd({
    name: "tls",
    tcp: { port: await freePort(), tls: pki.server },
  });
  const started = performance.now();
  app = await startTestApp({
    ...DOCKER_ENV,
    DOCKER_AGENT_TRANSPORT: "auto",
    POOL_GENERIC_PER_RUNTIME: "1",
    DOCKER_HOST: dockerd.tcpHost!,
    DOCKER_TLS_VERIFY: "1",
    DOCKER_CERT_PATH: pki.client.dir,
  });
  firstStartMs = performance.now() - started;
  alice = await createTenant(app, "alice@example.com");
}, 300_000);

afterAll(async () => {
  for (const other of appsToClose) await other.close().catch(() => {});
  await app?.close();
  await dockerd?.stop();
  fs.rmSync(work, { recursive: true, force: true });
}, 120_000);

/** Containers of this app's owner on the private engine. */
function remoteContainers() {
  return dockerd.docker.listContainers({
    all: true,
    filters: { label: [`${LABELS.managed}=true`, `${LABELS.owner}=${ownerOf(app)}`] },
  });
}

describe("a Docker engine on another host, over TLS", () => {
  it("is available, and the runtime images were built on that engine", async () => {
    const status = app.services.runners.engineStatus("docker");
    expect(status).toMatchObject({ available: true, detail: expect.stringMatching(/^Docker /) });
    const images = await dockerd.docker.listImages({
      filters: { label: [`${LABELS.managed}=true`] },
    });
    const runtimes = images.map((i) => i.Labels?.[LABELS.runtime]).sort();
    expect(runtimes).toEqual(["node", "python"]);
    console.log(
      `First start against an empty engine (both runtime images built there): ${(firstStartMs / 1000).toFixed(1)} s`,
    );
  });

  let greet: Deployed;
  let sum: Deployed;

  it("runs a function deployed through the public API, and answers over HTTP", async () => {
    greet = await deploy(alice, {
      name: "greet",
      runtime: "python",
      handler: "greet.main",
      code: "def main(event, context):\n    return {'hello': event.get('name', 'world')}\n",
    });
    sum = await deploy(alice, {
      name: "sum",
      runtime: "node",
      handler: "sum.main",
      style: "script",
      code: fs.readFileSync("examples/sum.js", "utf8"),
    });
    const first = await callOk(app, alice, greet, { query: { name: "remote" } });
    expect(first.result).toEqual({ hello: "remote" });
    const again = await callOk(app, alice, greet, { body: { name: "again" } });
    expect(again).toMatchObject({ result: { hello: "again" }, start: "warm" });
    const added = await callOk(app, alice, sum, {
      query: [
        ["a", "5"],
        ["b", "10"],
      ],
    });
    expect(added.stdout.trim()).toBe("15");
  });

  it("runs the instances on the remote engine, with no folder of the node mounted in them", async () => {
    const containers = await remoteContainers();
    expect(containers.length).toBeGreaterThanOrEqual(2);
    for (const summary of containers) {
      const info = await dockerd.docker.getContainer(summary.Id).inspect();
      // The agent's socket lives in a tmpfs of the container's own.
      expect(info.HostConfig.Binds ?? []).toEqual([]);
      expect(info.Mounts.filter((m) => m.Type === "bind")).toEqual([]);
      expect(Object.keys(info.HostConfig.Tmpfs ?? {}).sort()).toEqual(["/run/cloudless", "/tmp"]);
      expect(info.HostConfig.NetworkMode).toBe("none");
    }
    // Nothing on the node's side: no per-instance folders, and nothing on the node's own engine.
    const instancesDir = path.join(app.services.config.runners.dataDir, "instances", "docker");
    expect(fs.existsSync(instancesDir) ? fs.readdirSync(instancesDir) : []).toEqual([]);
    expect(await ownerContainers(ownerOf(app))).toEqual([]);
  });

  it("replaces a relay that dropped between calls: the next call is warm, on the same container", async () => {
    const who = await deploy(alice, {
      name: "who",
      runtime: "python",
      handler: "who.main",
      code: "import socket\ndef main(event, context):\n    return socket.gethostname()\n",
    });
    const first = await callOk(app, alice, who);
    const container = dockerd.docker.getContainer(first.result as string);
    // Kill the relay (not the agent) from outside, as a dropped API connection would end it.
    const killer = await container.exec({
      Cmd: [
        "python3",
        "-I",
        "-S",
        "-c",
        "import os, signal\nfor p in filter(str.isdigit, os.listdir('/proc')):\n    cmd = open(f'/proc/{p}/cmdline', 'rb').read().split(b'\\0')\n    if b'-S' in cmd and int(p) != os.getpid():\n        os.kill(int(p), signal.SIGKILL)\n        print(p)\n",
      ],
      User: "65534:65534",
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await killer.start({});
    const killed = await new Promise<string>((resolve) => {
      let text = "";
      stream.on("data", (c: Buffer) => {
        text += c.toString("latin1");
      });
      stream.on("end", () => resolve(text));
    });
    expect(killed).toMatch(/\d+/);
    await new Promise((r) => setTimeout(r, 200));
    const after = await callOk(app, alice, who);
    // Only a new relay could have carried this call: the old one is dead.
    expect(after).toMatchObject({ start: "warm", result: first.result });
  });

  it("keeps the deadline: a call past its timeout answers 504 and its container is removed", async () => {
    const slow = await deploy(alice, {
      name: "slow",
      runtime: "python",
      handler: "slow.main",
      timeoutSeconds: 1,
      code: "import socket, time\ndef main(event, context):\n    if event.get('sleep'):\n        time.sleep(30)\n    return socket.gethostname()\n",
    });
    // A quick first call leaves its container idle in the function's pool: the next call gets it.
    const hostname = (await callOk(app, alice, slow)).result as string;
    const container = dockerd.docker.getContainer(hostname);
    expect((await container.inspect()).State.Running).toBe(true);
    const { http, body, ms } = await call(app, alice, slow, { body: { sleep: true } });
    expect(http).toBe(504);
    expect(body).toMatchObject({ status: 124, timeout: true, error: "timeout", start: "warm" });
    // Generous for two loaded cores; the function itself would take 30 s.
    expect(ms).toBeLessThan(10_000);
    await waitFor("the timed-out container to be removed", () =>
      container.inspect().then(
        () => false,
        (error: { statusCode?: number }) => error.statusCode === 404,
      ),
    );
  });

  it("keeps the memory limit (137) and the output cap through the relay", async () => {
    const hog = await deploy(alice, {
      name: "hog",
      runtime: "python",
      handler: "hog.main",
      memoryMb: 64,
      timeoutSeconds: 20,
      code: "def main(event, context):\n    blocks = []\n    while True:\n        blocks.append(bytearray(8 * 1024 * 1024))\n",
    });
    const oom = await call(app, alice, hog);
    expect(oom.http).toBe(200);
    expect(oom.body).toMatchObject({ status: 137, error: "out of memory" });

    const loud = await deploy(alice, {
      name: "loud",
      runtime: "node",
      handler: "loud.main",
      code: "exports.main = () => { process.stdout.write('x'.repeat(3 * 1024 * 1024)); return 'done'; };\n",
    });
    const out = await callOk(app, alice, loud);
    expect(out.result).toBe("done");
    expect(out.truncated).toMatchObject({ stdout: true });
    expect(out.stdout).toMatch(/\n…\[truncated \d+ bytes\]$/);
    expect(out.stdout.length).toBeLessThan(2 * 1024 * 1024);
  });

  it("refuses network-enabled functions (the remote host's firewall is not ours): 503", async () => {
    const online = await deploy(alice, {
      name: "online",
      runtime: "python",
      handler: "online.main",
      networkEnabled: true,
      code: "def main(event, context):\n    return 'online'\n",
    });
    const { http, body } = await call(app, alice, online);
    expect(http).toBe(503);
    expect(body.reason).toMatch(
      /^Functions with the network enabled cannot run here: the Docker engine at tcp:\/\/127\.0\.0\.1:\d+ \(TLS\) is on another host/,
    );
    // Functions without the network still run.
    expect((await callOk(app, alice, greet)).result).toEqual({ hello: "world" });
  });
});

describe("a remote engine the node cannot authenticate with", () => {
  /** A second node against the same engine with other TLS settings; its calls must answer 503 quickly. */
  async function refusedWith(env: Record<string, string>) {
    const other = await startTestApp({
      ...DOCKER_ENV,
      DOCKER_AGENT_TRANSPORT: "auto",
      DOCKER_HOST: dockerd.tcpHost!,
      ...env,
    });
    appsToClose.push(other);
    const bob = await createTenant(other, "bob@example.com");
    const fn = await deploy(bob, {
      name: "hello",
      runtime: "python",
      handler: "hello.main",
      code: "def main(event, context):\n    return 'hello'\n",
    });
    const result = await call(other, bob, fn);
    expect(result.http).toBe(503);
    expect(result.body.error).toBe("The docker engine is unavailable");
    // An answer, not a hang.
    expect(result.ms).toBeLessThan(5_000);
    expect(other.services.runners.engineStatus("docker").available).toBe(false);
    return result.body.reason ?? "";
  }

  it("without a client certificate: unavailable with the TLS reason, calls answer 503", async () => {
    const caOnly = path.join(work, "ca-only");
    fs.mkdirSync(caOnly);
    fs.copyFileSync(pki.client.ca, path.join(caOnly, "ca.pem"));
    const reason = await refusedWith({ DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: caOnly });
    console.log(`No client certificate: ${reason}`);
    expect(reason).toMatch(
      /^Cannot reach the Docker engine at tcp:\/\/127\.0\.0\.1:\d+ \(TLS\) \(/,
    );
    expect(reason).toContain("(sslv3 alert bad certificate)");
    expect(reason).toContain("a client certificate it trusts (cert.pem, key.pem)");
  });

  it("with a CA that did not sign the engine's certificate: unavailable, 503", async () => {
    const reason = await refusedWith({
      DOCKER_TLS_VERIFY: "1",
      DOCKER_CERT_PATH: strangerPki.client.dir,
    });
    console.log(`Wrong CA: ${reason}`);
    expect(reason).toContain("(unable to verify the first certificate)");
    expect(reason).toContain(strangerPki.client.dir);
  });

  it("with TLS off against an engine that requires it: unavailable, 503", async () => {
    const reason = await refusedWith({});
    console.log(`TLS off: ${reason}`);
    expect(reason).toMatch(/^Cannot reach the Docker engine at tcp:\/\/127\.0\.0\.1:\d+ \(/);
    expect(reason).toContain("Client sent an HTTP request to an HTTPS server");
    expect(reason).toContain("DOCKER_TLS_VERIFY=1");
  });

  it("with DOCKER_CERT_PATH missing its ca.pem: unavailable, naming the file", async () => {
    const empty = path.join(work, "empty-certs");
    fs.mkdirSync(empty);
    const reason = await refusedWith({ DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: empty });
    expect(reason).toContain(`${path.join(empty, "ca.pem")} does not exist`);
  });
});
