import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { fieldErrorsOf } from "../../server/field-errors";
import { appRouter } from "../../server/root";
import type { Services } from "../../server/services";
import { CodeStore } from "../../server/storage/code-store";
import { startTestServices } from "../helpers/app";
import { type Caller, trpcError } from "../helpers/caller";
import {
  apiCaller,
  b64,
  createTestUser,
  expectConsistent,
  listObjects,
  readObject,
  sha256,
  snapshot,
  type TestUser,
} from "../helpers/functions";

// The functions procedures as programs call them (API key), against a real
// database and the embedded S3 server: every refusal leaves rows and objects
// exactly as they were, and every accepted upload is stored byte for byte.

const MiB = 1024 * 1024;

let env: Awaited<ReturnType<typeof startTestServices>>;
let services: Services;
let alice: TestUser;
let bob: TestUser;
let asAlice: Caller;
let asBob: Caller;

beforeAll(async () => {
  env = await startTestServices();
  services = env.services;
  alice = await createTestUser(services, "alice@example.com");
  bob = await createTestUser(services, "bob@example.com");
  asAlice = await apiCaller(services, alice.key);
  asBob = await apiCaller(services, bob.key);
});
afterAll(() => env?.close());
// Whatever a test did, no row lacks its object and no object lacks its row.
afterEach(() => expectConsistent(services));

let counter = 0;
/** A function name no other test uses. */
const unique = (base: string) => `${base}-${++counter}`;

const CALC = "import sys\n\n\ndef calculator(a, b):\n    print(a + b)\n";

type CreateInput = Parameters<Caller["functions"]["create"]>[0];

function createCalc(caller: Caller, overrides: Partial<CreateInput> = {}) {
  return caller.functions.create({
    name: unique("calc"),
    runtime: "python",
    // Handlers are unique per user too (they name the function in its URL).
    handler: `calc.calculator_${counter}`,
    style: "script",
    codeBase64: b64(CALC),
    fileName: "calc.py",
    ...overrides,
  });
}

/**
 * Runs a call that must be refused: checks the tRPC code, the message shown
 * for `field` (zod's or the service's), and that no row or object changed.
 */
async function expectRefused(
  call: () => Promise<unknown>,
  code: string,
  field: string,
  message: RegExp | string,
) {
  const before = await snapshot(services);
  const error = await trpcError(call());
  expect(error.code).toBe(code);
  const shown = fieldErrorsOf(error.cause)?.[field];
  expect(shown, `field errors: ${JSON.stringify(fieldErrorsOf(error.cause))}`).toBeDefined();
  expect(shown!.join("\n")).toMatch(message);
  // A service refusal is also the error's own message (what SDK and CLI users read).
  if (!(error.cause instanceof ZodError)) expect(error.message).toBe(shown![0]);
  expect(await snapshot(services)).toEqual(before);
}

describe("creating a function", () => {
  it("stores the code byte for byte as version 1 and shows the settings", async () => {
    const name = unique("calc");
    const fn = await createCalc(asAlice, {
      name,
      handler: "calc.calculator",
      memoryMb: 256,
      timeoutSeconds: 10,
    });
    expect(fn).toMatchObject({
      name,
      userId: alice.id,
      runtime: "python",
      handler: "calc.calculator",
      style: "script",
      memoryMb: 256,
      timeoutSeconds: 10,
      maxConcurrency: 4,
      minWarm: 0,
      isPublic: false,
      networkEnabled: false,
      env: [],
      activeVersion: { number: 1, sha256: sha256(CALC), sizeBytes: Buffer.byteLength(CALC) },
    });
    // The S3 key stays internal.
    expect(JSON.stringify(fn)).not.toContain("users/");

    const [version] = await services.db.functionVersion.findMany({ where: { functionId: fn.id } });
    expect(version!.s3Key).toBe(CodeStore.keyFor(alice.id, fn.id, sha256(CALC), "py"));
    expect(Buffer.from(await readObject(services, version!.s3Key)).toString("utf8")).toBe(CALC);
  });

  it("accepts a node module", async () => {
    const fn = await asAlice.functions.create({
      name: unique("greeting"),
      runtime: "node",
      handler: "greeting.greet",
      codeBase64: b64("exports.greet = (event) => ({ hi: event.name });\n"),
      fileName: "greeting.js",
    });
    expect(fn.activeVersion?.number).toBe(1);
    const { fileName, code } = await asAlice.functions.getCode({ id: fn.id });
    expect(fileName).toBe("greeting.js");
    expect(code).toContain("exports.greet");
  });

  describe("refuses bad code, storing nothing", () => {
    const py =
      (code: string | Uint8Array, fileName = "calc.py") =>
      () =>
        createCalc(asAlice, { codeBase64: b64(code), fileName });

    it("an empty file", () => expectRefused(py(""), "BAD_REQUEST", "code", "The file is empty"));

    it("NUL bytes", () =>
      expectRefused(py("print(1)\n\u0000\u0000"), "BAD_REQUEST", "code", /NUL bytes/));

    it("random bytes", () =>
      expectRefused(py(randomBytes(4096)), "BAD_REQUEST", "code", /not valid UTF-8|NUL bytes/));

    it("Latin-1 text", () =>
      expectRefused(
        py(Buffer.from("print('naïve café')\n", "latin1")),
        "BAD_REQUEST",
        "code",
        "The file is not valid UTF-8 text (is it a binary file?)",
      ));

    it("a wrong extension", () =>
      expectRefused(
        py(CALC, "calc.txt"),
        "BAD_REQUEST",
        "code",
        /needs a \.py file, not "calc\.txt"/,
      ));

    it("a file named other than the handler's module", () =>
      expectRefused(py(CALC, "calculator.py"), "BAD_REQUEST", "code", /must be named calc\.py/));

    it("a Python syntax error, with its line", () =>
      expectRefused(
        py("import sys\n\ndef calculator(a, b:\n    print(a)\n"),
        "BAD_REQUEST",
        "code",
        /^Syntax error in calc\.py at line 3: /,
      ));

    it("a JavaScript syntax error, with its line", () =>
      expectRefused(
        () =>
          asAlice.functions.create({
            name: unique("sum"),
            runtime: "node",
            handler: "sum.main",
            codeBase64: b64(
              "const a = 1;\nconst b = 2;\nconst = 3;\nexports.main = () => a + b;\n",
            ),
            fileName: "sum.js",
          }),
        "BAD_REQUEST",
        "code",
        /^Syntax error in sum\.js at line 3: /,
      ));

    it("a file one byte over MAX_CODE_BYTES, as too large", () =>
      expectRefused(
        py(`#${"x".repeat(MiB - 1)}\n`),
        "PAYLOAD_TOO_LARGE",
        "code",
        "The file is larger than 1 MiB",
      ));
  });

  it("accepts a file of exactly MAX_CODE_BYTES", async () => {
    const code = `#${"x".repeat(MiB - 2)}\n`;
    const fn = await createCalc(asAlice, { codeBase64: b64(code) });
    expect(fn.activeVersion).toMatchObject({ sizeBytes: MiB, sha256: sha256(code) });
  });

  describe("refuses bad settings, storing nothing", () => {
    it.each(["../../etc/passwd.x", "a.b.c", "calc", "1x.y"])("handler %j", (handler) =>
      expectRefused(
        () => createCalc(asAlice, { handler }),
        "BAD_REQUEST",
        "handler",
        "Use <module>.<function>, e.g. calc.calculator (letters, digits and _ only)",
      ),
    );

    it.each([
      ["memoryMb", 63, "Memory must be between 64 and 2048"],
      ["memoryMb", 2049, "Memory must be between 64 and 2048"],
      ["timeoutSeconds", 0, "Timeout must be between 1 and 300"],
      ["timeoutSeconds", 301, "Timeout must be between 1 and 300"],
    ] as const)("%s = %d", (field, value, message) =>
      expectRefused(() => createCalc(asAlice, { [field]: value }), "BAD_REQUEST", field, message),
    );

    it("more warm instances than the concurrency", () =>
      expectRefused(
        () => createCalc(asAlice, { minWarm: 3, maxConcurrency: 2 }),
        "BAD_REQUEST",
        "minWarm",
        "Minimum warm instances cannot exceed the concurrency",
      ));

    it.each(["Calc", "my calc", "-calc", "c".repeat(64)])("the name %j", (name) =>
      expectRefused(() => createCalc(asAlice, { name }), "BAD_REQUEST", "name", /lowercase|63/),
    );

    it("a name the user already has, as a conflict", async () => {
      const fn = await createCalc(asAlice);
      await expectRefused(
        () => createCalc(asAlice, { name: fn.name, codeBase64: b64("print('other')\n") }),
        "CONFLICT",
        "name",
        `You already have a function named "${fn.name}".`,
      );
    });

    it("a handler the user already has, as a conflict", async () => {
      const fn = await createCalc(asAlice);
      await expectRefused(
        () => createCalc(asAlice, { handler: fn.handler }),
        "CONFLICT",
        "handler",
        `Your function "${fn.name}" already uses the handler ${fn.handler}; the handler names a function in its URL, so each needs its own.`,
      );
    });

    it("an env variable kept (null) that was never saved", () =>
      expectRefused(
        () => createCalc(asAlice, { env: { TOKEN: null } }),
        "BAD_REQUEST",
        "env",
        "Give a value for TOKEN",
      ));
  });

  it("lets another user have the same name", async () => {
    const fn = await createCalc(asAlice);
    const theirs = await createCalc(asBob, { name: fn.name });
    expect(theirs.userId).toBe(bob.id);
  });

  it("lets exactly one of concurrent creates with one name win", async () => {
    const name = unique("race");
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) =>
        createCalc(asAlice, { name, codeBase64: b64(`print(${i})\n`) }),
      ),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r) => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost.map((r) => (r.reason as { code: string }).code)).toEqual(Array(4).fill("CONFLICT"));
    expect(await services.db.function.count({ where: { userId: alice.id, name } })).toBe(1);
    // The losers' objects were removed again (afterEach checks no object is left without a row).
  });
});

describe("uploading a new version", () => {
  it("numbers versions, makes the newest active, and skips identical code", async () => {
    const fn = await createCalc(asAlice);
    const v2code = "print('v2')\n";
    const v2 = await asAlice.functions.uploadCode({
      id: fn.id,
      codeBase64: b64(v2code),
      fileName: "calc.py",
    });
    expect(v2).toMatchObject({ created: true, version: { number: 2, sha256: sha256(v2code) } });
    expect(v2.function.activeVersion?.number).toBe(2);

    // The same code again: no version, no object, not even a touched row.
    const before = await snapshot(services);
    const same = await asAlice.functions.uploadCode({ id: fn.id, codeBase64: b64(v2code) });
    expect(same).toMatchObject({ created: false, version: { number: 2 } });
    expect(await snapshot(services)).toEqual(before);

    // Version 1's code again: a new version over the object already stored.
    const objects = await listObjects(services);
    const v3 = await asAlice.functions.uploadCode({ id: fn.id, codeBase64: b64(CALC) });
    expect(v3).toMatchObject({ created: true, version: { number: 3, sha256: sha256(CALC) } });
    expect(await listObjects(services)).toEqual(objects);
    const versions = await asAlice.functions.listVersions({ id: fn.id });
    expect(versions.map((v) => [v.number, v.active])).toEqual([
      [3, true],
      [2, false],
      [1, false],
    ]);
  });

  it("treats the same bytes under another extension (.cjs → .mjs) as new code", async () => {
    const source = b64("const answer = 42;\n");
    const fn = await asAlice.functions.create({
      name: unique("sum"),
      runtime: "node",
      handler: `sum.main_${counter}`,
      codeBase64: source,
      fileName: "sum.cjs",
    });
    const esm = await asAlice.functions.uploadCode({
      id: fn.id,
      codeBase64: source,
      fileName: "sum.mjs",
    });
    expect(esm).toMatchObject({ created: true, version: { number: 2 } });
    expect((await asAlice.functions.getCode({ id: fn.id })).fileName).toBe("sum.mjs");
    const again = await asAlice.functions.uploadCode({
      id: fn.id,
      codeBase64: source,
      fileName: "sum.mjs",
    });
    expect(again).toMatchObject({ created: false, version: { number: 2 } });
    const prefix = CodeStore.prefixFor(alice.id, fn.id);
    expect((await listObjects(services)).filter((o) => o.key.startsWith(prefix))).toHaveLength(2);
  });

  describe("refuses bad code, changing nothing", () => {
    let id: string;
    beforeAll(async () => {
      id = (await createCalc(asAlice)).id;
    });
    const upload = (code: string | Uint8Array, fileName?: string) => () =>
      asAlice.functions.uploadCode({ id, codeBase64: b64(code), fileName });

    it("empty", () => expectRefused(upload(""), "BAD_REQUEST", "code", "The file is empty"));
    it("binary", () =>
      expectRefused(
        upload(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0])),
        "BAD_REQUEST",
        "code",
        /NUL/,
      ));
    it("Latin-1", () =>
      expectRefused(upload(Buffer.from("# é\n", "latin1")), "BAD_REQUEST", "code", /UTF-8/));
    it("oversized", () =>
      expectRefused(upload("#".repeat(MiB + 1)), "PAYLOAD_TOO_LARGE", "code", /larger than 1 MiB/));
    it("wrong extension", () =>
      expectRefused(upload(CALC, "calc.js"), "BAD_REQUEST", "code", /needs a \.py file/));
    it("syntax error", () =>
      expectRefused(upload("x = (\n"), "BAD_REQUEST", "code", /at line 1: '\(' was never closed/));
  });

  it("numbers 8 concurrent uploads 2..9, each stored with its own size and hash", async () => {
    const fn = await createCalc(asAlice);
    const codes = Array.from({ length: 8 }, (_, i) => `print(${i})\n${"#".repeat(i * 100)}\n`);
    const results = await Promise.all(
      codes.map((code) =>
        asAlice.functions.uploadCode({ id: fn.id, codeBase64: b64(code), fileName: "calc.py" }),
      ),
    );
    expect(results.map((r) => r.version.number).sort((a, b) => a - b)).toEqual([
      2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    const versions = await services.db.functionVersion.findMany({
      where: { functionId: fn.id },
      orderBy: { number: "asc" },
    });
    expect(versions.map((v) => v.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const code of codes) {
      const version = versions.find((v) => v.sha256 === sha256(code));
      expect(version?.sizeBytes).toBe(Buffer.byteLength(code));
      expect(Buffer.from(await readObject(services, version!.s3Key)).toString("utf8")).toBe(code);
    }
    // Each upload made its own version active in turn, under the row lock: the last is 9.
    expect((await asAlice.functions.get({ id: fn.id })).activeVersion?.number).toBe(9);
  });

  it("makes one version of identical concurrent uploads", async () => {
    const fn = await createCalc(asAlice);
    const code = b64("print('same')\n");
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        asAlice.functions.uploadCode({ id: fn.id, codeBase64: code }),
      ),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await services.db.functionVersion.count({ where: { functionId: fn.id } })).toBe(2);
  });

  // STACK.md: with the SDK's default checksums, s3rver stored streamed uploads
  // with extra bytes. The stored object must be exactly what was sent.
  it("stores a ~900 KB upload with the exact size and sha256", async () => {
    // Varied lines (not one repeated byte), so a shifted or padded body cannot still match.
    const lines: string[] = [];
    for (let i = 0, size = 0; size < 900 * 1024; i++) {
      lines.push(`value_${i} = "${randomBytes(24).toString("hex")}"\n`);
      size += lines[i]!.length;
    }
    const code = lines.join("");
    const fn = await createCalc(asAlice);
    const { version } = await asAlice.functions.uploadCode({
      id: fn.id,
      codeBase64: b64(code),
      fileName: "calc.py",
    });
    expect(version.sizeBytes).toBe(Buffer.byteLength(code));
    const row = await services.db.functionVersion.findUniqueOrThrow({ where: { id: version.id } });
    const stored = await readObject(services, row.s3Key);
    expect(stored.byteLength).toBe(Buffer.byteLength(code));
    expect(sha256(stored)).toBe(sha256(code));
    expect((await listObjects(services)).find((o) => o.key === row.s3Key)?.size).toBe(
      Buffer.byteLength(code),
    );
  });

  describe("with settings (a deploy)", () => {
    it("applies code and settings together", async () => {
      const fn = await createCalc(asAlice);
      const other = "def main(a, b):\n    return a\n";
      const result = await asAlice.functions.uploadCode({
        id: fn.id,
        codeBase64: b64(other),
        fileName: "other.py",
        settings: { handler: "other.main", memoryMb: 512, style: "handler" },
      });
      expect(result.created).toBe(true);
      expect(result.function).toMatchObject({
        handler: "other.main",
        memoryMb: 512,
        style: "handler",
        timeoutSeconds: fn.timeoutSeconds,
        activeVersion: { number: 2 },
      });
      expect((await asAlice.functions.getCode({ id: fn.id })).fileName).toBe("other.py");
    });

    it("applies settings alone when the code is unchanged", async () => {
      const fn = await createCalc(asAlice);
      const result = await asAlice.functions.uploadCode({
        id: fn.id,
        codeBase64: b64(CALC),
        settings: { timeoutSeconds: 60 },
      });
      expect(result).toMatchObject({ created: false, function: { timeoutSeconds: 60 } });
    });

    it("changes neither when the code is refused", async () => {
      const fn = await createCalc(asAlice);
      await expectRefused(
        () =>
          asAlice.functions.uploadCode({
            id: fn.id,
            codeBase64: b64("def broken(:\n"),
            settings: { memoryMb: 1024, isPublic: true },
          }),
        "BAD_REQUEST",
        "code",
        /at line 1/,
      );
    });

    it("changes neither when the settings are refused", async () => {
      const fn = await createCalc(asAlice);
      const taken = await createCalc(asAlice);
      const code = b64("print('new')\n");
      await expectRefused(
        () =>
          asAlice.functions.uploadCode({ id: fn.id, codeBase64: code, settings: { minWarm: 5 } }),
        "BAD_REQUEST",
        "minWarm",
        "Minimum warm instances cannot exceed the concurrency",
      );
      await expectRefused(
        () =>
          asAlice.functions.uploadCode({ id: fn.id, codeBase64: code, settings: { memoryMb: 63 } }),
        "BAD_REQUEST",
        "settings",
        "Memory must be between 64 and 2048",
      );
      // Found only when the rows are written, after the object was stored: it is removed again.
      await expectRefused(
        () =>
          asAlice.functions.uploadCode({
            id: fn.id,
            codeBase64: code,
            settings: { name: taken.name },
          }),
        "CONFLICT",
        "name",
        `You already have a function named "${taken.name}".`,
      );
      // The handler's module decides the file name the code must have.
      await expectRefused(
        () =>
          asAlice.functions.uploadCode({
            id: fn.id,
            codeBase64: code,
            fileName: "calc.py",
            settings: { handler: "other.main" },
          }),
        "BAD_REQUEST",
        "code",
        /must be named other\.py/,
      );
    });
  });
});

describe("settings", () => {
  it("changes only the fields given", async () => {
    const fn = await createCalc(asAlice, {
      description: "adds",
      memoryMb: 256,
      env: { TOKEN: "a-long-secret-value" },
    });
    const updated = await asAlice.functions.updateSettings({
      id: fn.id,
      settings: { timeoutSeconds: 90 },
    });
    // Regression: this used to reset style, memory, description and env to their defaults.
    expect(updated).toMatchObject({
      description: "adds",
      style: "script",
      memoryMb: 256,
      timeoutSeconds: 90,
      env: [{ key: "TOKEN", preview: "a-••••••" }],
    });
    const row = await services.db.function.findUniqueOrThrow({ where: { id: fn.id } });
    expect(row.env).toEqual({ TOKEN: "a-long-secret-value" });
  });

  it("checks minWarm against the saved concurrency", async () => {
    const fn = await createCalc(asAlice, { maxConcurrency: 2 });
    await expectRefused(
      () => asAlice.functions.updateSettings({ id: fn.id, settings: { minWarm: 3 } }),
      "BAD_REQUEST",
      "minWarm",
      "Minimum warm instances cannot exceed the concurrency",
    );
    await expectRefused(
      () => asAlice.functions.updateSettings({ id: fn.id, settings: { memoryMb: 2049 } }),
      "BAD_REQUEST",
      "settings",
      "Memory must be between 64 and 2048",
    );
    const ok = await asAlice.functions.updateSettings({
      id: fn.id,
      settings: { minWarm: 3, maxConcurrency: 3 },
    });
    expect(ok).toMatchObject({ minWarm: 3, maxConcurrency: 3 });
  });

  it("refuses taking another function's name or handler", async () => {
    const first = await createCalc(asAlice);
    const second = await createCalc(asAlice);
    await expectRefused(
      () => asAlice.functions.updateSettings({ id: second.id, settings: { name: first.name } }),
      "CONFLICT",
      "name",
      `You already have a function named "${first.name}".`,
    );
    await expectRefused(
      () =>
        asAlice.functions.updateSettings({ id: second.id, settings: { handler: first.handler } }),
      "CONFLICT",
      "handler",
      /already uses the handler calc\.calculator_\d+/,
    );
  });

  it("never returns env values in full, and keeps a saved value given null", async () => {
    const secret = "sk_live_0123456789abcdef";
    const short = "abc";
    const fn = await createCalc(asAlice, { env: { API_TOKEN: secret, REGION: short } });
    const seen: unknown[] = [fn];
    seen.push(await asAlice.functions.list());
    seen.push(await asAlice.functions.get({ id: fn.id }));
    seen.push(await asAlice.functions.getByName({ name: fn.name }));
    const updated = await asAlice.functions.updateSettings({
      id: fn.id,
      settings: { env: { API_TOKEN: null, NEW_SECRET: "another-secret-value" } },
    });
    seen.push(updated);
    seen.push(await asAlice.functions.uploadCode({ id: fn.id, codeBase64: b64("print('x')\n") }));
    seen.push(await asAlice.functions.get({ id: fn.id }));
    for (const answer of seen) {
      const json = JSON.stringify(answer);
      expect(json).not.toContain(secret);
      expect(json).not.toContain("another-secret-value");
      expect(json).not.toContain(`"${short}"`);
    }
    expect(updated.env).toEqual([
      { key: "API_TOKEN", preview: "sk••••••" },
      { key: "NEW_SECRET", preview: "an••••••" },
    ]);
    // null kept API_TOKEN; REGION, left out of the update, was removed.
    const row = await services.db.function.findUniqueOrThrow({ where: { id: fn.id } });
    expect(row.env).toEqual({ API_TOKEN: secret, NEW_SECRET: "another-secret-value" });
  });
});

describe("rollback, code and delete", () => {
  it("rolls back to an earlier version and serves its code", async () => {
    const fn = await createCalc(asAlice);
    await asAlice.functions.uploadCode({ id: fn.id, codeBase64: b64("print(2)\n") });
    const back = await asAlice.functions.rollback({ id: fn.id, version: 1 });
    expect(back).toMatchObject({ number: 1, sha256: sha256(CALC) });
    const active = await asAlice.functions.getCode({ id: fn.id });
    expect(active).toMatchObject({ code: CALC, fileName: "calc.py", version: { number: 1 } });
    expect((await asAlice.functions.getCode({ id: fn.id, version: 2 })).code).toBe("print(2)\n");
    expect(JSON.stringify(active)).not.toContain("s3Key");
  });

  it("refuses to roll back to a version that does not exist", async () => {
    const fn = await createCalc(asAlice);
    await expectRefusedPlain(
      () => asAlice.functions.rollback({ id: fn.id, version: 7 }),
      "NOT_FOUND",
      "Version 7 does not exist.",
    );
    await expectRefusedPlain(
      () => asAlice.functions.getCode({ id: fn.id, version: 7 }),
      "NOT_FOUND",
      "That version does not exist.",
    );
  });

  it("deletes the function's objects and rows, and nothing of others", async () => {
    const fn = await createCalc(asAlice);
    await asAlice.functions.uploadCode({ id: fn.id, codeBase64: b64("print(2)\n") });
    const keep = await createCalc(asAlice);
    const prefix = CodeStore.prefixFor(alice.id, fn.id);
    expect((await listObjects(services)).filter((o) => o.key.startsWith(prefix))).toHaveLength(2);
    const others = (await listObjects(services)).filter((o) => !o.key.startsWith(prefix));

    expect(await asAlice.functions.delete({ id: fn.id })).toEqual({ id: fn.id, name: fn.name });
    expect(await listObjects(services)).toEqual(others);
    expect(await services.db.function.count({ where: { id: fn.id } })).toBe(0);
    expect(await services.db.functionVersion.count({ where: { functionId: fn.id } })).toBe(0);
    expect((await asAlice.functions.get({ id: keep.id })).activeVersion?.number).toBe(1);
    await expectRefusedPlain(
      () => asAlice.functions.get({ id: fn.id }),
      "NOT_FOUND",
      "No such function.",
    );
  });
});

async function expectRefusedPlain(call: () => Promise<unknown>, code: string, message: string) {
  const before = await snapshot(services);
  const error = await trpcError(call());
  expect({ code: error.code, message: error.message }).toEqual({ code, message });
  expect(await snapshot(services)).toEqual(before);
}

describe("another user's function", () => {
  let fn: Awaited<ReturnType<typeof createCalc>>;
  beforeAll(async () => {
    fn = await createCalc(asAlice, { env: { TOKEN: "alice-only-secret" } });
    await asAlice.functions.uploadCode({ id: fn.id, codeBase64: b64("print(2)\n") });
  });

  // One attempt per procedure; the list below must name every procedure of
  // the router, so a new procedure cannot be added without its check.
  const attempts: Record<string, () => Promise<unknown>> = {
    get: () => asBob.functions.get({ id: fn.id }),
    getByName: () => asBob.functions.getByName({ name: fn.name }),
    updateSettings: () =>
      asBob.functions.updateSettings({ id: fn.id, settings: { isPublic: true } }),
    uploadCode: () => asBob.functions.uploadCode({ id: fn.id, codeBase64: b64("print('bob')\n") }),
    listVersions: () => asBob.functions.listVersions({ id: fn.id }),
    rollback: () => asBob.functions.rollback({ id: fn.id, version: 1 }),
    getCode: () => asBob.functions.getCode({ id: fn.id }),
    getCodeOfVersion: () => asBob.functions.getCode({ id: fn.id, version: 1 }),
    delete: () => asBob.functions.delete({ id: fn.id }),
  };

  it("covers every procedure of the functions router", () => {
    const procedures = Object.keys(appRouter._def.procedures)
      .filter((p) => p.startsWith("functions."))
      .map((p) => p.slice("functions.".length));
    // list and create take no function id: checked below.
    expect(new Set([...Object.keys(attempts), "list", "create"])).toEqual(
      new Set([...procedures, "getCodeOfVersion"]),
    );
  });

  it.each(Object.keys(attempts))("is not found through %s, and stays unchanged", async (name) => {
    const before = await snapshot(services);
    const error = await trpcError(attempts[name]!());
    expect(error.code).toBe("NOT_FOUND");
    // The same answer as for an id that never existed: nothing tells Bob it is there.
    expect(error.message).toMatch(/^No such function\.$|^No function named/);
    expect(await snapshot(services)).toEqual(before);
  });

  it("is not in the other user's list, and does not block their name", async () => {
    expect((await asBob.functions.list()).map((f) => f.id)).not.toContain(fn.id);
    const own = await createCalc(asBob, { name: fn.name });
    expect(own.id).not.toBe(fn.id);
    expect((await asAlice.functions.get({ id: fn.id })).activeVersion?.number).toBe(2);
  });
});
