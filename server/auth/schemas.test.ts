import { describe, expect, it } from "vitest";
import { registerSchema } from "./schemas";

const valid = { name: "Ada Lovelace", email: "ada@example.com", password: "analytical-engine" };

function errors(input: Record<string, unknown>) {
  const result = registerSchema.safeParse({ ...valid, ...input });
  return result.success
    ? {}
    : Object.fromEntries(result.error.issues.map((i) => [i.path[0], i.message]));
}

describe("registration rules", () => {
  it("normalises what it accepts", () => {
    expect(
      registerSchema.parse({
        name: "  Ada  ",
        email: " Ada@Example.COM ",
        password: valid.password,
      }),
    ).toEqual({ name: "Ada", email: "ada@example.com", password: valid.password });
    // Names in any script, with marks and joiners, are fine.
    expect(errors({ name: "Zoë Ŝmith-日本 👩‍💻" })).toEqual({});
  });

  it.each([
    ["Ada\u0000", "NUL"],
    ["Ada\nLovelace", "newline"],
    ["Ada\tLovelace", "tab"],
    ["Ada\u007f", "DEL"],
    ["Ada\u0085Lovelace", "C1 next-line"],
    ["Ada\u009b31m", "C1 CSI"],
  ])("refuses control characters in names: %j (%s)", (name) => {
    expect(errors({ name })).toEqual({ name: "Names cannot contain control characters" });
  });

  it("explains each bad field", () => {
    expect(errors({ name: "   " })).toEqual({ name: "Enter your name" });
    expect(errors({ name: "n".repeat(101) })).toEqual({ name: "Names are at most 100 characters" });
    expect(errors({ email: "" })).toEqual({ email: "Enter your email address" });
    expect(errors({ email: "ada-at-example.com" })).toEqual({
      email: "Enter a valid email address",
    });
    expect(errors({ email: `${"a".repeat(64)}@${"d".repeat(190)}.com` })).toEqual({
      email: "Email addresses are at most 254 characters",
    });
    expect(errors({ password: "short" })).toEqual({ password: "Use at least 8 characters" });
    expect(errors({ password: "p".repeat(129) })).toEqual({
      password: "Use at most 128 characters",
    });
    expect(errors({ name: 42, email: null, password: undefined })).toEqual({
      name: "Enter your name",
      email: "Enter your email address",
      password: "Enter a password",
    });
  });
});
