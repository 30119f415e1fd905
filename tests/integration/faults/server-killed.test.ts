import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InvokeClient } from "../../../benchmark/client";
import { createBenchUser, Deployer } from "../../../benchmark/deploy";
import { type Server, startServer } from "../../../benchmark/server";
import { LABELS } from "../../../runners/labels";
import type { VmState } from "../../../runners/nanos/leftovers";
import { loadConfig } from "../../../server/config/config";
import { createDatabase } from "../../../server/db/client";
import { createTestDatabase } from "../../helpers/database";
import { docker, waitFor } from "../../helpers/docker";
import { enginesUnderTest } from "../../helpers/engines";
import { isAlive, reportSkip } from "../../helpers/nanos";

// The real server (server/main.ts, a child process) SIGKILLed under load and
// started again on the same data folder and database: nothing of the killed
// process survives (containers, VMs and their ports, half-written saved VMs),
// and every call it answered 200 has its record after the restart (the
// journal in DATA_DIR/records is replayed; no loss bound needed).

const engines = await enginesUnderTest();
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

interface VmSeen {
  id: string;
  pid: number;
  port: number;
  dir: string;
}

function vmsIn(dataDir: string): VmSeen[] {
  const dir = path.join(dataDir, "instances", "nanos");
  const found: VmSeen[] = [];
  for (const id of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    try {
      const state = JSON.parse(
        fs.readFileSync(path.join(dir, id, "state.json"), "utf8"),
      ) as VmState;
      found.push({ id, pid: state.pid, port: state.port, dir: path.join(dir, id) });
    } catch {
      // being set up or removed
    }
  }
  return found;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe.each(engines)("$name: the server SIGKILLed under load", (engine) => {
  reportSkip("faults/server-killed.test.ts", engine.skip);

  it.skipIf(Boolean(engine.skip))(
    "leaves nothing running after the restart, and every answered call has its record",
    async () => {
      const database = await createTestDatabase();
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-killed-"));
      cleanups.push(async () => {
        await database.drop();
        fs.rmSync(dataDir, { recursive: true, force: true });
      });
      const lines: string[] = [];
      const start = () =>
        startServer({
          engine: engine.name,
          dataDir,
          databaseUrl: database.url,
          genericPerRuntime: 1,
          env: { ...engine.env, POOL_GENERIC_MEMORY_MB: "128" },
          onLine: (line) => lines.push(line),
          progress: () => {},
        });
      let server: Server = await start();
      cleanups.push(() => server.stop().then(() => {}));

      const user = await createBenchUser(database.url);
      const fn = await new Deployer(server.url, user.apiKey).create("python", 4);
      const target = { userId: user.userId, handler: fn.handler };
      let client = new InvokeClient(server.url, user.apiKey, engine.name, 4);
      // Instances up before the load, so the kill finds several.
      await Promise.all([1, 2, 3, 4].map(() => client.call(target)));

      const answered: string[] = [];
      let running = true;
      const load = [1, 2, 3, 4].map(async () => {
        while (running) {
          const result = await client.call(target);
          if (result.httpStatus === 200 && result.body) answered.push(result.body.invocationId);
          else if (!running || result.httpStatus === 0) return; // the kill cut it off
        }
      });
      await waitFor("calls under load", () => answered.length >= 200, 60_000, 20);

      // What the process has running at the moment it dies.
      // The server's owner id, as it derives it from its data folder.
      const ownerId = loadConfig({
        DATA_DIR: dataDir,
        ENGINES: "",
        SESSION_SECRET: "x".repeat(32),
      }).runners.ownerId;
      const containers =
        engine.name === "docker"
          ? await docker.listContainers({
              all: true,
              filters: { label: [`${LABELS.managed}=true`, `${LABELS.owner}=${ownerId}`] },
            })
          : [];
      const vms = engine.name === "nanos" ? vmsIn(dataDir) : [];
      process.kill(server.pid, "SIGKILL");
      running = false;
      await Promise.all(load);
      client.close();
      const answeredBeforeKill = [...answered];
      expect(answeredBeforeKill.length).toBeGreaterThanOrEqual(200);

      // A saved VM half-written when the kill came (qemu's `cat` stops mid-file).
      const snapshots = path.join(engine.env.NANOS_CACHE_DIR ?? dataDir, "snapshots");
      const halfWritten = path.join(snapshots, "0000000000000000-64m-killed.vmstate.tmp-deadbeef");
      if (engine.name === "nanos") {
        fs.mkdirSync(snapshots, { recursive: true });
        fs.writeFileSync(halfWritten, "partial");
      }

      lines.length = 0;
      server = await start();

      // Nothing of the killed process survives.
      if (engine.name === "docker") {
        const ids = new Set(containers.map((c) => c.Id));
        expect(ids.size).toBeGreaterThan(0);
        const now = await docker.listContainers({
          all: true,
          filters: { label: [`${LABELS.owner}=${ownerId}`] },
        });
        expect(now.filter((c) => ids.has(c.Id))).toEqual([]);
      } else {
        expect(vms.length).toBeGreaterThan(0);
        const current = new Set(vmsIn(dataDir).map((v) => v.id));
        for (const vm of vms) {
          expect(isAlive(vm.pid), `qemu ${vm.pid} of VM ${vm.id}`).toBe(false);
          expect(current.has(vm.id)).toBe(false);
          expect(fs.existsSync(vm.dir)).toBe(false);
          // Its port is free, or taken again by a VM of the new process.
          const reused = vmsIn(dataDir).some((v) => v.port === vm.port);
          if (!reused) expect(await listening(vm.port), `port ${vm.port}`).toBe(false);
        }
        expect(fs.existsSync(halfWritten)).toBe(false);
      }

      // Every call answered 200 before the kill is recorded, once.
      const replayed = lines.find((l) => /Replaying \d+ invocation record/.test(l));
      console.log(
        `${engine.name}: ${answeredBeforeKill.length} calls answered before the kill; ${replayed ?? "nothing replayed"}`,
      );
      // The kill always catches records that were answered but not yet written.
      expect(replayed).toBeDefined();
      const db = createDatabase(database.url, { maxConnections: 1 });
      try {
        await waitFor(
          "every answered call's record",
          async () =>
            (await db.invocation.count({ where: { id: { in: answeredBeforeKill } } })) ===
            answeredBeforeKill.length,
          30_000,
          200,
        );
      } finally {
        await db.$disconnect();
      }

      // And the restarted server serves.
      client = new InvokeClient(server.url, user.apiKey, engine.name, 1);
      const after = await client.call(target);
      client.close();
      expect(after.httpStatus).toBe(200);
      await server.stop();
    },
    engine.timeoutMs * 2,
  );
});
