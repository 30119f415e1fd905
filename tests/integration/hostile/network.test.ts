import net from "node:net";
import os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../../helpers/app";
import { createTenant, type Deployed, deploy, type Tenant } from "../../helpers/docker";
import { callOkOn, callOn, enginesUnderTest } from "../../helpers/engines";
import { reportSkip } from "../../helpers/nanos";
import { type OutsideHost, startOutsideHost } from "../../helpers/outside-host";

// What a function reaches over the network, with it off and on. With it on:
// the outside world yes (a host in a network namespace stands in for it), the
// host's own services never — its loopback, its other addresses, the app's
// own port, PostgreSQL, other instances' ports — and not link-local
// 169.254.169.254 (cloud metadata). Before the firewall rules
// (runners/network-guard.ts), a Nanos VM reached host loopback through
// 10.0.2.2 and a container reached every host port through its gateway.

const engines = await enginesUnderTest();

/** Tries every target at once; says "open: <first bytes>" or why not. */
const PROBE = `import socket, threading

def attempt(host, port, found, name):
    try:
        with socket.create_connection((host, port), timeout=4) as s:
            s.settimeout(3)
            try:
                s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
                found[name] = "open: " + s.recv(200).decode(errors="replace")
            except OSError:
                found[name] = "open"
    except OSError as error:
        found[name] = type(error).__name__

def main(event, context):
    found = {}
    threads = [threading.Thread(target=attempt, args=(t["host"], t["port"], found, t["name"])) for t in event["targets"]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return found
`;

/** A TCP listener on the host that greets whoever connects. */
async function listen(host: string, greeting: string) {
  const server = net.createServer((socket) => socket.end(`${greeting}\n`));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as net.AddressInfo).port };
}

/** The host's own non-loopback IPv4 addresses (eth0 and the like, docker0). */
function hostAddresses() {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((a) => a && a.family === "IPv4" && !a.internal)
    .map((a) => a!.address)
    .filter((a) => !a.startsWith("198.51.100."));
}

describe.each(engines)("$name: the network", (engine) => {
  reportSkip(`hostile/network (${engine.name})`, engine.skip);

  describe.skipIf(Boolean(engine.skip))("", { timeout: engine.timeoutMs }, () => {
    let app: TestApp;
    let alice: Tenant;
    let outside: OutsideHost;
    let loopback: Awaited<ReturnType<typeof listen>>;
    let anywhere: Awaited<ReturnType<typeof listen>>;

    beforeAll(async () => {
      [app, outside, loopback, anywhere] = await Promise.all([
        startTestApp({ ...engine.env, POOL_GENERIC_PER_RUNTIME: "0" }),
        startOutsideHost(),
        listen("127.0.0.1", "host loopback"),
        listen("0.0.0.0", "host, any address"),
      ]);
      alice = await createTenant(app, "alice@example.com");
    }, 300_000);

    afterAll(async () => {
      if (app) await engine.cleanUp(app);
      await app?.close();
      await outside?.close();
      loopback?.server.close();
      anywhere?.server.close();
    });

    async function targets() {
      const gateway = await engine.hostGateway();
      const appPort = Number(new URL(app.url).port);
      const pgPort = Number(new URL(app.services.config.databaseUrl!).port || 5432);
      const list = [
        { name: "outside", host: outside.address, port: outside.port },
        { name: "host loopback via the gateway", host: gateway, port: loopback.port },
        { name: "host (any address) via the gateway", host: gateway, port: anywhere.port },
        { name: "the app's own port", host: gateway, port: appPort },
        { name: "PostgreSQL", host: gateway, port: pgPort },
        { name: "link-local metadata", host: "169.254.169.254", port: 80 },
      ];
      for (const address of hostAddresses()) {
        list.push({ name: `host address ${address}`, host: address, port: anywhere.port });
      }
      return list;
    }

    function probe(name: string, networkEnabled: boolean, tenant = alice): Promise<Deployed> {
      return deploy(tenant, {
        name,
        runtime: "python",
        handler: `${name.replaceAll("-", "_")}.main`,
        memoryMb: 64,
        timeoutSeconds: 20,
        networkEnabled,
        code: PROBE,
      });
    }

    it("with the network on: the outside world answers, the host's own services and link-local never do", async () => {
      const fn = await probe("net-on", true);
      const list = await targets();
      const found = (await callOkOn(engine, app, alice, fn, { body: { targets: list } }))
        .result as Record<string, string>;
      expect(found.outside).toContain(outside.greeting);
      for (const { name } of list.filter((t) => t.name !== "outside")) {
        expect({ [name]: found[name] }).not.toEqual({ [name]: expect.stringMatching(/^open/) });
      }
    });

    it("fails closed: where the rules cannot be installed, network-enabled calls answer 503 and others run", async () => {
      const unguarded = await startTestApp({
        ...engine.env,
        POOL_GENERIC_PER_RUNTIME: "0",
        IPTABLES: "/nonexistent/iptables",
      });
      try {
        const bob = await createTenant(unguarded, "bob@example.com");
        const [on, off] = [await probe("on", true, bob), await probe("off", false, bob)];
        const refused = await callOn(engine, unguarded, bob, on, { body: { targets: [] } });
        expect(refused.http).toBe(503);
        expect(refused.body.reason).toMatch(
          /^Functions with the network enabled cannot run here: could not install the network isolation rules/,
        );
        const served = await callOkOn(engine, unguarded, bob, off, { body: { targets: [] } });
        expect(served.result).toEqual({});
      } finally {
        await engine.cleanUp(unguarded);
        await unguarded.close();
      }
    });

    it("with the network off: nothing answers, not even the outside world", async () => {
      const fn = await probe("net-off", false);
      const list = await targets();
      const found = (await callOkOn(engine, app, alice, fn, { body: { targets: list } }))
        .result as Record<string, string>;
      for (const { name } of list) {
        expect({ [name]: found[name] }).not.toEqual({ [name]: expect.stringMatching(/^open/) });
      }
    });
  });
});
