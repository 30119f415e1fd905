import { describe, expect, it } from "vitest";
import { envUpdate, readCode, readEnvRows } from "./functions.server";

function form(entries: [string, string | File][]) {
  const data = new FormData();
  for (const [key, value] of entries) data.append(key, value);
  return data;
}

describe("environment rows", () => {
  it("reads rows in form order and turns them into the procedures' update", () => {
    const rows = readEnvRows(
      form([
        ["env.0.key", "API_TOKEN"],
        ["env.0.mode", "keep"],
        ["env.1.key", "OLD"],
        ["env.1.mode", "remove"],
        ["env.2.key", "SECRET"],
        ["env.2.mode", "replace"],
        ["env.2.value", "new value"],
        ["env.10.key", " REGION "],
        ["env.10.value", "eu"],
        ["env.3.key", ""],
        ["env.3.value", ""],
      ]),
    );
    expect(rows.map((r) => r.key)).toEqual(["API_TOKEN", "OLD", "SECRET", "", "REGION"]);
    // A string sets, null keeps, a key left out is removed; empty rows are skipped.
    expect(envUpdate(rows)).toEqual({
      ok: true,
      env: { API_TOKEN: null, SECRET: "new value", REGION: "eu" },
    });
  });

  it("refuses a value without a name, and a name given twice", () => {
    expect(envUpdate([{ key: "", mode: "new", value: "x" }])).toMatchObject({ ok: false });
    expect(
      envUpdate([
        { key: "A", mode: "new", value: "1" },
        { key: "A", mode: "new", value: "2" },
      ]),
    ).toEqual({ ok: false, error: "A is listed twice" });
  });

  it("ignores a mode it does not know", () => {
    const rows = readEnvRows(
      form([
        ["env.0.key", "A"],
        ["env.0.mode", "drop-table"],
      ]),
    );
    expect(rows).toEqual([{ key: "A", mode: "new", value: "" }]);
  });
});

describe("readCode", () => {
  it("takes the editor's text with LF line ends", async () => {
    const code = await readCode(
      form([
        ["source", "editor"],
        ["code", "a = 1\r\nb = 2\r\n"],
      ]),
    );
    expect(code).toMatchObject({ ok: true, text: "a = 1\nb = 2\n" });
    if (code.ok)
      expect(Buffer.from(code.code.codeBase64, "base64").toString()).toBe("a = 1\nb = 2\n");
  });

  it("takes an uploaded file's exact bytes and name", async () => {
    const bytes = new Uint8Array([0x70, 0x0d, 0x0a, 0xff]);
    const code = await readCode(
      form([
        ["source", "file"],
        ["file", new File([bytes], "calc.py")],
      ]),
    );
    expect(code).toEqual({
      ok: true,
      code: { codeBase64: Buffer.from(bytes).toString("base64"), fileName: "calc.py" },
    });
  });

  it("asks for a file or some code", async () => {
    expect(await readCode(form([["source", "file"]]))).toMatchObject({ ok: false });
    expect(
      await readCode(
        form([
          ["source", "editor"],
          ["code", "  \n"],
        ]),
      ),
    ).toMatchObject({
      ok: false,
    });
  });
});
