import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CodeError, checkCode, formatBytes, syntaxMessage } from "./code";
import { CheckerUnavailableError, parseProblem } from "./syntax-check";

// `true` and `false` stand in for the interpreters: these tests are about
// the checks around the syntax check, which the integration tests run for real.
const accepting = { pythonBin: "true", nodeBin: "true" };
const MAX = 4096;

const b64 = (bytes: string | Uint8Array) => Buffer.from(bytes).toString("base64");

function upload(
  code: string | Uint8Array,
  extra: { fileName?: string; runtime?: "python" | "node"; handler?: string } = {},
) {
  return checkCode(
    {
      codeBase64: b64(code),
      runtime: extra.runtime ?? "python",
      handler: extra.handler ?? "calc.calculator",
      fileName: extra.fileName,
    },
    { maxBytes: MAX, interpreters: accepting },
  );
}

async function refusal(work: Promise<unknown>): Promise<CodeError> {
  const error = await work.then(
    () => {
      throw new Error("expected a CodeError, but the code was accepted");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CodeError);
  return error as CodeError;
}

describe("checkCode", () => {
  it("returns the exact bytes, their sha256 and the module's file name", async () => {
    const source = "print('héllo')\n";
    const checked = await upload(source, { fileName: "calc.py" });
    expect(Buffer.from(checked.bytes).toString("utf8")).toBe(source);
    expect(checked.sha256).toBe(createHash("sha256").update(source).digest("hex"));
    expect(checked).toMatchObject({ moduleFile: "calc.py", extension: "py" });
  });

  it("names the module after the handler when no file name is given", async () => {
    const checked = await upload("exports.main = () => 1;\n", {
      runtime: "node",
      handler: "sum.main",
    });
    expect(checked).toMatchObject({ moduleFile: "sum.js", extension: "js" });
  });

  it("keeps a node module's own extension (.mjs, .cjs), case-insensitively", async () => {
    const options = { runtime: "node", handler: "sum.main" } as const;
    expect((await upload("export {};\n", { ...options, fileName: "sum.mjs" })).moduleFile).toBe(
      "sum.mjs",
    );
    expect((await upload("1;\n", { ...options, fileName: "dir/sum.CJS" })).moduleFile).toBe(
      "sum.cjs",
    );
  });

  it("refuses an empty file", async () => {
    expect((await refusal(upload(""))).message).toBe("The file is empty");
  });

  it("accepts a file of exactly the limit and refuses one byte more as too large", async () => {
    const atLimit = `#${"x".repeat(MAX - 2)}\n`;
    expect((await upload(atLimit)).bytes.byteLength).toBe(MAX);
    const over = await refusal(upload(`${atLimit}\n`));
    expect(over.tooLarge).toBe(true);
    expect(over.message).toBe("The file is larger than 4 KiB");
  });

  it("refuses by the encoded length, whatever the padding", async () => {
    for (const size of [MAX + 1, MAX + 2, MAX + 3]) {
      const error = await refusal(upload("x".repeat(size)));
      expect(error.tooLarge).toBe(true);
    }
  });

  it("refuses NUL bytes in otherwise valid UTF-8", async () => {
    const error = await refusal(upload("print(1)\n\u0000\n"));
    expect(error.message).toMatch(/NUL bytes/);
    expect(error.tooLarge).toBe(false);
  });

  it("refuses random binary content", async () => {
    // Bytes 0x80-0xbf cannot start a UTF-8 sequence, so this can never decode.
    const bytes = new Uint8Array(256).map((_, i) => 0x80 + (i % 64));
    expect((await refusal(upload(bytes))).message).toMatch(/not valid UTF-8/);
  });

  it("refuses Latin-1 text", async () => {
    const latin1 = Buffer.from("print('café')\n", "latin1");
    expect((await refusal(upload(latin1))).message).toMatch(/not valid UTF-8/);
  });

  it.each([
    ["calc.txt", "python", /needs a \.py file, not "calc\.txt"/],
    ["calc.js", "python", /needs a \.py file/],
    ["calc.py", "node", /needs a \.js or \.mjs or \.cjs file/],
    ["calc", "python", /needs a \.py file, not "calc"/],
    [".py", "python", /needs a \.py file/],
  ] as const)("refuses %s for a %s function", async (fileName, runtime, message) => {
    expect((await refusal(upload("x\n", { fileName, runtime }))).message).toMatch(message);
  });

  it("refuses a file named other than the handler's module", async () => {
    const error = await refusal(upload("x\n", { fileName: "other.py" }));
    expect(error.message).toBe(
      'The handler\'s module is "calc", so the file must be named calc.py (got "other.py")',
    );
  });

  it("reports a failed syntax check with the interpreter's line", async () => {
    // `false` fails without output: the message still says which file failed.
    const error = await refusal(
      checkCode(
        { codeBase64: b64("x\n"), runtime: "python", handler: "calc.f" },
        { maxBytes: MAX, interpreters: { pythonBin: "false", nodeBin: "false" } },
      ),
    );
    expect(error.message).toMatch(/^Syntax error in calc\.py/);
  });

  it("tells a missing interpreter apart from bad code", async () => {
    const work = checkCode(
      { codeBase64: b64("x\n"), runtime: "python", handler: "calc.f" },
      { maxBytes: MAX, interpreters: { pythonBin: "/nonexistent/python3", nodeBin: "x" } },
    );
    await expect(work).rejects.toBeInstanceOf(CheckerUnavailableError);
    await expect(work).rejects.toThrow(/\/nonexistent\/python3 does not run \(ENOENT\)/);
  });
});

describe("syntax problems", () => {
  it("parses py_compile's report into line, verdict and excerpt", () => {
    const stderr =
      '  File "calc.py", line 3\n    def f(:\n          ^\nSyntaxError: invalid syntax\n';
    expect(parseProblem("python", stderr, "calc.py")).toEqual({
      line: 3,
      summary: "invalid syntax",
      excerpt: "    def f(:\n          ^",
    });
  });

  it("parses py_compile's one-line form (indentation errors)", () => {
    const stderr = "Sorry: IndentationError: unexpected indent (ind.py, line 2)";
    expect(parseProblem("python", stderr, "ind.py")).toEqual({
      line: 2,
      summary: "IndentationError: unexpected indent",
      excerpt: undefined,
    });
  });

  it("parses node --check's report, without node's own stack", () => {
    const stderr = [
      "sum.js:2",
      "function (",
      "^^^^^^^^",
      "",
      "SyntaxError: Function statements require a function name",
      "    at wrapSafe (node:internal/modules/cjs/loader:1464:18)",
      "",
      "Node.js v20.20.2",
    ].join("\n");
    expect(parseProblem("node", stderr, "sum.js")).toEqual({
      line: 2,
      summary: "Function statements require a function name",
      excerpt: "function (\n^^^^^^^^",
    });
  });

  it("keeps the first line of an output it does not recognise", () => {
    expect(parseProblem("python", "something odd\nmore", "calc.py")).toEqual({
      line: undefined,
      summary: "something odd",
    });
  });

  it("puts the whole verdict on the message's first line", () => {
    const message = syntaxMessage("calc.py", {
      line: 3,
      summary: "invalid syntax",
      excerpt: "x\n^",
    });
    expect(message).toBe("Syntax error in calc.py at line 3: invalid syntax\nx\n^");
    expect(syntaxMessage("sum.js", { summary: "timed out" })).toBe(
      "Syntax error in sum.js: timed out",
    );
  });
});

describe("formatBytes", () => {
  it.each([
    [512, "512 bytes"],
    [1024, "1 KiB"],
    [900 * 1024, "900 KiB"],
    [1024 * 1024, "1 MiB"],
    [1.5 * 1024 * 1024, "1.5 MiB"],
  ])("%d → %s", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
