import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CloudlessClient, createCloudlessClient } from "../../server/client";
import { CodeStore } from "../../server/storage/code-store";
import { startTestApp, type TestApp } from "../helpers/app";
import { closedPort, expectConsistent, listObjects } from "../helpers/functions";

// The `cloudless` command as a user runs it: a child process per command
// (each costs ~0.5 s of start-up, so the steps share one server and user).
// Admin commands talk to the test app's database; the rest go over HTTP.

const EMAIL = "cli@example.com";
const EXAMPLES = [
  ["calc.py", "calc", "python", "calc.calculator", "script"],
  ["student.py", "student", "python", "student.greet", "handler"],
  ["sum.js", "sum", "node", "sum.main", "script"],
  ["greeting.js", "greeting", "node", "greeting.greet", "handler"],
  ["counter.py", "counter", "python", "counter.count", "handler"],
] as const;

let app: TestApp;
let dataDir: string;
let key: string;
let sdk: CloudlessClient;

beforeAll(async () => {
  app = await startTestApp();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-cli-test-"));
});
afterAll(async () => {
  await app?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node scripts/cloudless.mjs <args>` with only the environment given (nothing of ours leaks in). */
function cloudless(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["scripts/cloudless.mjs", ...args],
      {
        env: {
          PATH: process.env.PATH ?? "",
          HOME: dataDir,
          DATA_DIR: dataDir,
          ...env,
        } as unknown as NodeJS.ProcessEnv,
        timeout: 30_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A command against the running server with the user's key. */
const remote = (...args: string[]) => cloudless(["--url", app.url, "--key", key, ...args]);

/** A database command, as an operator runs it on the server's host. */
const admin = (...args: string[]) =>
  cloudless(args, { DATABASE_URL: app.services.config.databaseUrl! });

/** A failure: exit code 1 and exactly one line, on stderr. */
function expectOneLineError(run: Run, message: RegExp | string) {
  expect(run.code, run.stderr).toBe(1);
  expect(run.stdout).toBe("");
  const lines = run.stderr.split("\n").filter((l) => l.trim() !== "");
  expect(lines, run.stderr).toHaveLength(1);
  if (typeof message === "string") expect(lines[0]).toBe(message);
  else expect(lines[0]).toMatch(message);
}

describe("cloudless", () => {
  it("creates a user and an API key in the database", async () => {
    const user = await admin("user", "create", "--email", EMAIL, "--password", "correct-horse-9");
    expect(user.stderr).toBe("");
    expect(user.stdout.trim()).toMatch(new RegExp(`^Created user ${EMAIL} \\(\\w+\\)$`));
    const row = await app.services.db.user.findUniqueOrThrow({ where: { email: EMAIL } });
    expect(row.emailVerifiedAt).not.toBeNull();

    const created = await admin("apikey", "create", "--email", EMAIL, "--name", "laptop");
    expect(created.code).toBe(0);
    key = created.stdout.trim();
    expect(key).toMatch(/^cl_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(await app.services.db.apiKey.findFirst({ where: { userId: row.id } })).toMatchObject({
      name: "laptop",
    });
    sdk = createCloudlessClient({ url: app.url, apiKey: key });
    expect(await sdk.functions.list.query()).toEqual([]);
  });

  it("deploys every example", async () => {
    const runs = await Promise.all(
      EXAMPLES.map(([file, name, runtime, handler, style]) =>
        remote(
          "deploy",
          `examples/${file}`,
          ...["--name", name, "--runtime", runtime, "--handler", handler, "--style", style],
        ),
      ),
    );
    const user = await app.services.db.user.findUniqueOrThrow({ where: { email: EMAIL } });
    for (const [i, run] of runs.entries()) {
      const [, name, , handler] = EXAMPLES[i]!;
      expect(run.stderr).toBe("");
      expect(run.stdout.split("\n")).toEqual([
        `Created ${name}: version 1`,
        `  ${app.url}/api/function/${user.id}/${handler}/docker`,
        `  ${app.url}/api/function/${user.id}/${handler}/nanos`,
        "",
      ]);
    }
    const functions = await sdk.functions.list.query();
    expect(functions.map((f) => [f.name, f.runtime, f.handler, f.style]).sort()).toEqual(
      EXAMPLES.map(([, name, runtime, handler, style]) => [name, runtime, handler, style]).sort(),
    );
    for (const [file, name] of EXAMPLES) {
      const fn = functions.find((f) => f.name === name)!;
      const { code, fileName } = await sdk.functions.getCode.query({ id: fn.id });
      expect(fileName).toBe(file);
      expect(code).toBe(fs.readFileSync(`examples/${file}`, "utf8"));
    }
    await expectConsistent(app.services);
  });

  it("lists the functions", async () => {
    const run = await remote("list");
    expect(run.code).toBe(0);
    for (const [, name, runtime, handler] of EXAMPLES) {
      expect(run.stdout).toMatch(
        new RegExp(`^${name}\\s+${runtime}\\s+${handler.replace(".", "\\.")}\\s`, "m"),
      );
    }
  });

  it("deploys changed code as a new version, with new settings, and lists the versions", async () => {
    const changed = path.join(dataDir, "calc.py");
    fs.writeFileSync(changed, `${fs.readFileSync("examples/calc.py", "utf8")}\n# changed\n`);
    const deploy = await remote("deploy", changed, "--name", "calc", "--memory", "256");
    expect(deploy.stderr).toBe("");
    expect(deploy.stdout.split("\n")[0]).toBe("Updated calc: version 2");
    const fn = await sdk.functions.getByName.query({ name: "calc" });
    // Only the memory changed: the style stays "script", the handler stays.
    expect(fn).toMatchObject({ memoryMb: 256, style: "script", handler: "calc.calculator" });

    const again = await remote("deploy", changed, "--name", "calc");
    expect(again.stdout.split("\n")[0]).toBe("calc: code unchanged (version 2)");

    const versions = await remote("versions", "calc");
    expect(versions.code).toBe(0);
    const [header, ...rows] = versions.stdout.trim().split("\n");
    expect(header).toMatch(/^VERSION\s+ACTIVE\s+SHA256/);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^2\s+\*\s+[0-9a-f]{12}\s/);
    expect(rows[1]).toMatch(/^1\s+[0-9a-f]{12}\s/);
  });

  it("rolls back to version 1", async () => {
    const run = await remote("rollback", "calc", "1");
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout.trim()).toBe("calc now runs version 1");
    const fn = await sdk.functions.getByName.query({ name: "calc" });
    const { code } = await sdk.functions.getCode.query({ id: fn.id });
    expect(code).toBe(fs.readFileSync("examples/calc.py", "utf8"));
  });

  it("deletes a function with its stored code", async () => {
    const fn = await sdk.functions.getByName.query({ name: "greeting" });
    const run = await remote("delete", "greeting");
    expect(run).toMatchObject({ code: 0, stdout: "Deleted greeting\n" });
    expect((await sdk.functions.list.query()).map((f) => f.name)).not.toContain("greeting");
    const prefix = CodeStore.prefixFor(fn.userId, fn.id);
    expect((await listObjects(app.services)).some((o) => o.key.startsWith(prefix))).toBe(false);
    await expectConsistent(app.services);
  });

  it("prints one clear line and exits 1 on errors", async () => {
    const broken = path.join(dataDir, "broken.py");
    fs.writeFileSync(broken, "def broken(event, context):\n    return {'a': 1\n");
    const brokenCalc = path.join(dataDir, "broken", "calc.py");
    fs.mkdirSync(path.dirname(brokenCalc));
    fs.writeFileSync(brokenCalc, "import sys\nprint(sys.argv[1] +)\n");
    const port = await closedPort();
    const before = await sdk.functions.getByName.query({ name: "calc" });
    const [noKey, unreachable, syntax, refusedDeploy, unknown, duplicateUser] = await Promise.all([
      cloudless(["--url", app.url, "list"]),
      cloudless(["--url", `http://127.0.0.1:${port}`, "--key", key, "list"]),
      remote(
        "deploy",
        broken,
        "--name",
        "broken",
        "--runtime",
        "python",
        "--handler",
        "broken.main",
      ),
      // Code and settings go together: the refused code leaves the memory as it was.
      remote("deploy", brokenCalc, "--name", "calc", "--memory", "512"),
      remote("versions", "nope"),
      admin("user", "create", "--email", EMAIL, "--password", "correct-horse-9"),
    ]);
    expectOneLineError(
      noKey,
      "error: No API key: pass --key or set CLOUDLESS_API_KEY (create one in Settings or with `cloudless apikey create --email <you>`)",
    );
    expectOneLineError(
      unreachable,
      `error: cannot reach the server at http://127.0.0.1:${port} (ECONNREFUSED; is it running? npm start)`,
    );
    expectOneLineError(
      syntax,
      /^error: Syntax error in broken\.py at line 2: '\{' was never closed$/,
    );
    expectOneLineError(
      refusedDeploy,
      /^error: Syntax error in calc\.py at line 2: invalid syntax$/,
    );
    expectOneLineError(unknown, 'error: No function named "nope".');
    expectOneLineError(duplicateUser, `error: A user with email ${EMAIL} already exists`);
    expect(await sdk.functions.getByName.query({ name: "calc" })).toEqual(before);
    expect((await sdk.functions.list.query()).map((f) => f.name)).not.toContain("broken");
  });
});
