import { describe, expect, it } from "vitest";
import {
  codeUploadSchema,
  createFunctionSchema,
  envUpdateSchema,
  functionNameSchema,
  handlerSchema,
  LIMITS,
  updateSettingsSchema,
} from "./schemas";

const minimal = {
  name: "calc",
  runtime: "python",
  handler: "calc.calculator",
  codeBase64: Buffer.from("print(1)\n").toString("base64"),
};

/** The first message zod gives, and the field it is about. */
function refusal(result: {
  success: boolean;
  error?: { issues: { message: string; path: PropertyKey[] }[] };
}) {
  expect(result.success).toBe(false);
  const issue = result.error!.issues[0]!;
  return { field: issue.path.join("."), message: issue.message };
}

describe("function names", () => {
  it.each(["calc", "a", "my-fn-2", "0day", "a".repeat(63)])("accepts %s", (name) => {
    expect(functionNameSchema.parse(name)).toBe(name);
  });

  it("trims surrounding spaces before checking", () => {
    expect(functionNameSchema.parse("  calc ")).toBe("calc");
  });

  it.each([
    ["Calc", "Use lowercase"],
    ["my fn", "Use lowercase"],
    ["-calc", "Use lowercase"],
    ["calc-", "Use lowercase"],
    ["cälc", "Use lowercase"],
    ["a".repeat(64), "at most 63"],
    ["", "Enter a name"],
  ])("refuses %j", (name, message) => {
    expect(refusal(functionNameSchema.safeParse(name)).message).toContain(message);
  });
});

describe("handlers", () => {
  it.each(["calc.calculator", "_m.f", "Mod_1.handler_2"])("accepts %s", (handler) => {
    expect(handlerSchema.parse(handler)).toBe(handler);
  });

  // A handler names the module file, so anything that could become a path must fail.
  it.each([
    "../../etc/passwd.x",
    "a.b.c",
    "calc",
    "1x.y",
    "x.1y",
    "calc.",
    ".calc",
    "ca lc.f",
    "calc/x.f",
    "calc.f\nx",
    "calc.f;rm",
    `${"m".repeat(65)}.f`,
  ])("refuses %j", (handler) => {
    expect(refusal(handlerSchema.safeParse(handler)).message).toContain("<module>.<function>");
  });
});

describe("creating a function", () => {
  it("fills every setting with its default", () => {
    expect(createFunctionSchema.parse(minimal)).toEqual({
      ...minimal,
      description: "",
      style: "handler",
      memoryMb: LIMITS.memoryMb.default,
      timeoutSeconds: LIMITS.timeoutSeconds.default,
      maxConcurrency: LIMITS.maxConcurrency.default,
      minWarm: LIMITS.minWarm.default,
      isPublic: false,
      networkEnabled: false,
      asyncRetries: LIMITS.asyncRetries.default,
      retryOnError: false,
      env: {},
    });
  });

  it.each([
    ["memoryMb", 64, true],
    ["memoryMb", 2048, true],
    ["memoryMb", 63, false],
    ["memoryMb", 2049, false],
    ["asyncRetries", 0, true],
    ["asyncRetries", 5, true],
    ["asyncRetries", 6, false],
    ["asyncRetries", -1, false],
    ["timeoutSeconds", 1, true],
    ["timeoutSeconds", 300, true],
    ["timeoutSeconds", 0, false],
    ["timeoutSeconds", 301, false],
    ["memoryMb", 128.5, false],
  ] as const)("%s = %d: accepted %s", (field, value, ok) => {
    const result = createFunctionSchema.safeParse({ ...minimal, [field]: value });
    if (ok) expect(result.success).toBe(true);
    else
      expect(refusal(result)).toEqual({ field, message: expect.stringMatching(/between|whole/) });
  });

  it("takes numbers as form strings", () => {
    expect(createFunctionSchema.parse({ ...minimal, memoryMb: "256" }).memoryMb).toBe(256);
  });

  it("refuses more warm instances than the concurrency allows", () => {
    const result = createFunctionSchema.safeParse({ ...minimal, minWarm: 3, maxConcurrency: 2 });
    expect(refusal(result)).toEqual({
      field: "minWarm",
      message: "Minimum warm instances cannot exceed the concurrency",
    });
    expect(
      createFunctionSchema.safeParse({ ...minimal, minWarm: 2, maxConcurrency: 2 }).success,
    ).toBe(true);
  });

  it("refuses an unknown runtime or style", () => {
    expect(refusal(createFunctionSchema.safeParse({ ...minimal, runtime: "ruby" }))).toEqual({
      field: "runtime",
      message: "Choose python or node",
    });
    expect(refusal(createFunctionSchema.safeParse({ ...minimal, style: "daemon" })).field).toBe(
      "style",
    );
  });
});

describe("updating settings", () => {
  // Regression: the update schema used to be the create schema made partial,
  // and zod 4 still applies defaults there, so changing only the memory reset
  // the style to "handler" and removed every env variable.
  it("carries only the fields given", () => {
    expect(updateSettingsSchema.parse({ memoryMb: 256 })).toEqual({ memoryMb: 256 });
    expect(updateSettingsSchema.parse({})).toEqual({});
  });

  it("still checks every field it is given", () => {
    expect(refusal(updateSettingsSchema.safeParse({ timeoutSeconds: 301 })).field).toBe(
      "timeoutSeconds",
    );
    expect(refusal(updateSettingsSchema.safeParse({ handler: "a.b.c" })).field).toBe("handler");
    expect(refusal(updateSettingsSchema.safeParse({ name: "Bad Name" })).field).toBe("name");
  });
});

describe("env updates", () => {
  it("takes strings to set and null to keep", () => {
    expect(envUpdateSchema.parse({ API_TOKEN: "s3cret", KEEP: null })).toEqual({
      API_TOKEN: "s3cret",
      KEEP: null,
    });
  });

  it.each(["1ABC", "A-B", "A B", ""])("refuses the variable name %j", (key) => {
    expect(envUpdateSchema.safeParse({ [key]: "x" }).success).toBe(false);
  });

  it("refuses too many variables and too long values", () => {
    const many = Object.fromEntries(
      Array.from({ length: LIMITS.envVars + 1 }, (_, i) => [`V${i}`, "x"]),
    );
    expect(refusal(envUpdateSchema.safeParse(many)).message).toBe(
      `At most ${LIMITS.envVars} variables`,
    );
    expect(envUpdateSchema.safeParse({ BIG: "x".repeat(LIMITS.envValueChars + 1) }).success).toBe(
      false,
    );
    expect(envUpdateSchema.safeParse({ BIG: "x".repeat(LIMITS.envValueChars) }).success).toBe(true);
  });
});

describe("code uploads", () => {
  it("accepts base64, including the empty string (refused later, with a clearer message)", () => {
    expect(codeUploadSchema.safeParse({ codeBase64: "cHJpbnQoMSkK" }).success).toBe(true);
    expect(codeUploadSchema.safeParse({ codeBase64: "" }).success).toBe(true);
  });

  it.each(["print(1)", "cHJp bnQ=", "abc===", "data:text/plain;base64,cHJpbnQ="])(
    "refuses what is not base64: %j",
    (codeBase64) => {
      expect(refusal(codeUploadSchema.safeParse({ codeBase64 })).message).toBe("Not base64");
    },
  );
});
