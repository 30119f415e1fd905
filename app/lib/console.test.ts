import { describe, expect, it } from "vitest";
import {
  type ConsoleCall,
  curlCommand,
  jsonProblem,
  queryString,
  readConsoleForm,
  sdkSnippet,
  shellQuote,
} from "./console";

const URL = "http://localhost:3000/api/function/u1/calc.calculator/docker";
const query = (params: ConsoleCall["params"]): ConsoleCall => ({
  engine: "docker",
  mode: "query",
  params,
  body: "",
});
const json = (body: string): ConsoleCall => ({ engine: "nanos", mode: "json", params: [], body });

describe("the console's call", () => {
  it("reads rows in form order, whatever order the fields arrive in", () => {
    const form = new FormData();
    form.append("intent", "invoke");
    form.append("mode", "query");
    form.append("engine", "nanos");
    form.append("param.1.key", "b");
    form.append("param.1.value", "10");
    form.append("param.0.key", "a");
    form.append("param.0.value", "5");
    expect(readConsoleForm(form)).toEqual({
      engine: "nanos",
      mode: "query",
      params: [
        { key: "a", value: "5" },
        { key: "b", value: "10" },
      ],
      body: "",
    });
    // Anything else is the default, never passed through.
    const odd = new FormData();
    odd.append("engine", "kvm");
    odd.append("mode", "xml");
    expect(readConsoleForm(odd)).toMatchObject({ engine: "docker", mode: "query" });
  });

  it("keeps query order, skips empty rows and names unnamed values", () => {
    expect(
      queryString([
        { key: "a", value: "5" },
        { key: "", value: "" },
        { key: "", value: "x y&z" },
      ]),
    ).toBe("?a=5&arg1=x+y%26z");
    expect(queryString([{ key: "", value: "" }])).toBe("");
  });

  it("quotes for the shell so nothing in a value is run", () => {
    expect(shellQuote("it's $HOME `x`")).toBe(`'it'\\''s $HOME \`x\`'`);
  });

  it("writes curl with the key left to the shell for private functions", () => {
    expect(curlCommand({ url: URL, isPublic: true }, query([{ key: "a", value: "5" }]))).toBe(
      `curl '${URL}?a=5'`,
    );
    expect(curlCommand({ url: URL, isPublic: false }, json('{ "name": "O\'Neil" }'))).toBe(
      [
        `curl -X POST -H "Authorization: Bearer $CLOUDLESS_API_KEY" \\`,
        `  -H "Content-Type: application/json" \\`,
        `  -d '{"name":"O'\\''Neil"}' \\`,
        `  '${URL}'`,
      ].join("\n"),
    );
  });

  it("writes the SDK call a script or a handler needs", () => {
    const target = { origin: "http://localhost:3000", userId: "u1", handler: "calc.calculator" };
    const script = sdkSnippet({ ...target, style: "script" }, query([{ key: "a", value: "5" }]));
    expect(script).toContain(
      `{ userId: "u1", handler: "calc.calculator", engine: "docker", args: ["5"] }`,
    );
    expect(script).toContain("console.log(answer.stdout");
    const handler = sdkSnippet({ ...target, style: "handler" }, query([{ key: "a", value: "5" }]));
    expect(handler).toContain(`event: {"a":"5"} }`);
    expect(sdkSnippet({ ...target, style: "handler" }, json(""))).toContain("event: {} }");
  });

  it("says what is wrong with a JSON body", () => {
    expect(jsonProblem("")).toBeNull();
    expect(jsonProblem('{"a": 1}')).toBeNull();
    expect(jsonProblem('{"a": ')).toMatch(/^Not valid JSON: /);
  });
});
