import fs from "node:fs";
import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import {
  type CloudlessClient,
  createCloudlessClient,
  type RouterInputs,
  type RouterOutputs,
  toBase64,
} from "../../server/client";
import type { AppRouter } from "../../server/root";
import { CodeStore } from "../../server/storage/code-store";
import { startTestApp, type TestApp } from "../helpers/app";
import {
  b64,
  closedPort,
  createTestUser,
  expectConsistent,
  listObjects,
  sha256,
  type TestUser,
} from "../helpers/functions";

// The typed SDK against a running server, as a program uses it: real HTTP,
// an API key, and types that tsc checks (this file is part of `tsc --noEmit`).

const CALC = fs.readFileSync("examples/calc.py");
const MiB = 1024 * 1024;

let app: TestApp;
let alice: TestUser;
let cloudless: CloudlessClient;

beforeAll(async () => {
  app = await startTestApp();
  alice = await createTestUser(app.services, "alice@example.com");
  cloudless = createCloudlessClient({ url: `${app.url}/`, apiKey: alice.key });
});
afterAll(() => app?.close());

/** The error a call failed with, as the SDK reports it. */
async function clientError(call: Promise<unknown>): Promise<TRPCClientError<AppRouter>> {
  const error = await call.then(
    () => {
      throw new Error("expected the call to fail, but it succeeded");
    },
    (e: unknown) => e,
  );
  if (!(error instanceof TRPCClientError)) throw error;
  return error as TRPCClientError<AppRouter>;
}

describe("the SDK", () => {
  it("creates, configures, uploads, lists, rolls back, reads and deletes a function", async () => {
    const created = await cloudless.functions.create.mutate({
      name: "calc",
      runtime: "python",
      handler: "calc.calculator",
      style: "script",
      codeBase64: toBase64(CALC),
      fileName: "calc.py",
    });
    expect(created).toMatchObject({
      name: "calc",
      style: "script",
      activeVersion: { number: 1, sha256: sha256(CALC), sizeBytes: CALC.byteLength },
    });
    // Without a transformer, dates travel as JSON strings, and the types say so.
    expectTypeOf(created.createdAt).toEqualTypeOf<string>();
    expect(new Date(created.createdAt).getTime()).not.toBeNaN();
    expectTypeOf(created.runtime).toEqualTypeOf<"python" | "node">();
    expectTypeOf(created.env).toEqualTypeOf<{ key: string; preview: string }[]>();

    const updated = await cloudless.functions.updateSettings.mutate({
      id: created.id,
      settings: { memoryMb: 256, timeoutSeconds: 5, env: { GREETING: "hello there" } },
    });
    expect(updated).toMatchObject({
      memoryMb: 256,
      timeoutSeconds: 5,
      style: "script",
      env: [{ key: "GREETING", preview: "he••••••" }],
    });
    expectTypeOf(updated.memoryMb).toEqualTypeOf<number>();

    const v2code = `${CALC.toString("utf8")}\n# v2\n`;
    const upload = await cloudless.functions.uploadCode.mutate({
      id: created.id,
      codeBase64: b64(v2code),
      fileName: "calc.py",
    });
    expect(upload).toMatchObject({ created: true, version: { number: 2, sha256: sha256(v2code) } });
    expectTypeOf(upload.created).toEqualTypeOf<boolean>();

    const list = await cloudless.functions.list.query();
    expect(list.map((f) => [f.name, f.activeVersion?.number, f.memoryMb])).toEqual([
      ["calc", 2, 256],
    ]);

    const versions = await cloudless.functions.listVersions.query({ id: created.id });
    expect(versions.map((v) => ({ number: v.number, active: v.active }))).toEqual([
      { number: 2, active: true },
      { number: 1, active: false },
    ]);
    expectTypeOf(versions[0]!.active).toEqualTypeOf<boolean>();

    const back = await cloudless.functions.rollback.mutate({ id: created.id, version: 1 });
    expect(back.number).toBe(1);
    const code = await cloudless.functions.getCode.query({ id: created.id });
    expect(code).toMatchObject({ fileName: "calc.py", version: { number: 1 } });
    expect(code.code).toBe(CALC.toString("utf8"));
    expect((await cloudless.functions.getCode.query({ id: created.id, version: 2 })).code).toBe(
      v2code,
    );

    const byName = await cloudless.functions.getByName.query({ name: "calc" });
    expect(byName.activeVersion?.number).toBe(1);

    expect(await cloudless.functions.delete.mutate({ id: created.id })).toEqual({
      id: created.id,
      name: "calc",
    });
    expect(await cloudless.functions.list.query()).toEqual([]);
    const prefix = CodeStore.prefixFor(alice.id, created.id);
    expect((await listObjects(app.services)).filter((o) => o.key.startsWith(prefix))).toEqual([]);
  });

  it("has input types that catch mistakes before a request is sent", () => {
    expectTypeOf<RouterInputs["functions"]["create"]["runtime"]>().toEqualTypeOf<
      "python" | "node"
    >();
    expectTypeOf<RouterInputs["functions"]["rollback"]["version"]>().toEqualTypeOf<number>();
    expectTypeOf<
      RouterOutputs["functions"]["listVersions"][number]["sizeBytes"]
    >().toEqualTypeOf<number>();
    // Never called: tsc checks that these do not compile.
    const _mistakes = () => [
      cloudless.functions.create.mutate({
        name: "x",
        // @ts-expect-error the runtime is python or node
        runtime: "ruby",
        handler: "a.b",
        codeBase64: "",
      }),
      // @ts-expect-error a version is a number
      cloudless.functions.rollback.mutate({ id: "x", version: "2" }),
      // @ts-expect-error memory is a number (or a form's string), not a boolean
      cloudless.functions.updateSettings.mutate({ id: "x", settings: { memoryMb: true } }),
      // @ts-expect-error there is no such procedure
      cloudless.functions.deploy.mutate({}),
    ];
    expect(typeof _mistakes).toBe("function");
  });
});

describe("errors over HTTP", () => {
  async function createOne(name: string, handler = `${name}.main`) {
    return cloudless.functions.create.mutate({
      name,
      runtime: "node",
      handler,
      codeBase64: b64("exports.main = () => 1;\n"),
      fileName: `${handler.split(".")[0]}.js`,
    });
  }

  it("accepts exactly MAX_CODE_BYTES and answers 413 one byte over, storing nothing", async () => {
    const fn = await createOne("big");
    const atLimit = `//${"x".repeat(MiB - 3)}\n`;
    const ok = await cloudless.functions.uploadCode.mutate({ id: fn.id, codeBase64: b64(atLimit) });
    expect(ok.version).toMatchObject({ number: 2, sizeBytes: MiB, sha256: sha256(atLimit) });

    const objects = await listObjects(app.services);
    const error = await clientError(
      cloudless.functions.uploadCode.mutate({ id: fn.id, codeBase64: b64(`${atLimit} `) }),
    );
    expect(error.data).toMatchObject({ code: "PAYLOAD_TOO_LARGE", httpStatus: 413 });
    expect(error.message).toBe("The file is larger than 1 MiB");
    expect(error.data?.fieldErrors).toEqual({ code: ["The file is larger than 1 MiB"] });
    expect(await listObjects(app.services)).toEqual(objects);
    expect((await cloudless.functions.listVersions.query({ id: fn.id })).length).toBe(2);
    await expectConsistent(app.services);
  });

  it("answers 409 for a name taken, 404 for an unknown id, 400 for a bad handler", async () => {
    await createOne("taken");
    const conflict = await clientError(createOne("taken", "other.main"));
    expect(conflict.data).toMatchObject({ code: "CONFLICT", httpStatus: 409 });
    expect(conflict.message).toBe('You already have a function named "taken".');

    const missing = await clientError(cloudless.functions.get.query({ id: "no-such-id" }));
    expect(missing.data).toMatchObject({ code: "NOT_FOUND", httpStatus: 404 });
    expect(missing.message).toBe("No such function.");

    const bad = await clientError(createOne("badhandler", "../../etc/passwd.x"));
    expect(bad.data).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400 });
    expect(bad.data?.fieldErrors?.handler).toEqual([
      "Use <module>.<function>, e.g. calc.calculator (letters, digits and _ only)",
    ]);

    const syntax = await clientError(
      cloudless.functions.create.mutate({
        name: "broken",
        runtime: "python",
        handler: "broken.main",
        codeBase64: b64("def main(:\n"),
      }),
    );
    expect(syntax.data).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400 });
    expect(syntax.message).toMatch(/^Syntax error in broken\.py at line 1: invalid syntax/);
  });

  it("answers 401 with the reason for a revoked key", async () => {
    const key = await app.services.db.apiKey.findFirstOrThrow({ where: { userId: alice.id } });
    const other = await createTestUser(app.services, "revoked@example.com");
    const client = createCloudlessClient({ url: app.url, apiKey: other.key });
    expect(await client.functions.list.query()).toEqual([]);
    // Revoking is deleting the row (see the API keys router).
    await app.services.db.apiKey.deleteMany({ where: { userId: other.id } });
    const error = await clientError(client.functions.list.query());
    expect(error.data).toMatchObject({ code: "UNAUTHORIZED", httpStatus: 401 });
    expect(error.message).toBe("Invalid or revoked API key");
    // Alice's key was not touched.
    expect(await app.services.db.apiKey.count({ where: { id: key.id } })).toBe(1);
  });

  it("reports an unreachable server as a connection failure", async () => {
    const client = createCloudlessClient({
      url: `http://127.0.0.1:${await closedPort()}`,
      apiKey: alice.key,
    });
    const error = await clientError(client.functions.list.query());
    expect(error.data).toBeUndefined();
    expect(String((error.cause as { cause?: { code?: string } })?.cause?.code)).toBe(
      "ECONNREFUSED",
    );
  });
});
