import type { RuntimeName } from "../../server/functions/schemas";

export type StyleName = "script" | "handler";

/**
 * What the editor starts with for each runtime and style, and the handler
 * that goes with it: a new user gets code that runs as it is.
 */
export const STARTERS: Record<RuntimeName, Record<StyleName, { handler: string; code: string }>> = {
  python: {
    handler: {
      handler: "main.handler",
      code: `"""Called as handler(event, context) for each call.

event is the query (GET) or the JSON body (POST); what it returns is the result.
"""


def handler(event, context):
    name = event.get("name", "world")
    return {"message": f"Hello, {name}!"}
`,
    },
    script: {
      handler: "main.main",
      code: `"""Run as a program for each call, like \`python main.py 5 10\`.

The query values arrive as arguments, in order (?a=5&b=10); what it prints is the result.
"""
import sys


def main(args):
    print(f"Hello, {' '.join(args) or 'world'}!")


if __name__ == "__main__":
    main(sys.argv[1:])
`,
    },
  },
  node: {
    handler: {
      handler: "main.handler",
      code: `// Called as handler(event, context) for each call.
// event is the query (GET) or the JSON body (POST); what it returns is the result.
exports.handler = async (event, context) => {
  const name = event.name ?? "world";
  return { message: \`Hello, \${name}!\` };
};
`,
    },
    script: {
      handler: "main.main",
      code: `// Run as a program for each call, like \`node main.js 5 10\`.
// The query values arrive as arguments, in order (?a=5&b=10); what it prints is the result.
const args = process.argv.slice(2);
console.log(\`Hello, \${args.join(" ") || "world"}!\`);
`,
    },
  },
};

/** True when the text is one of the starters untouched, so switching may replace it. */
export function isStarter(code: string): boolean {
  return Object.values(STARTERS).some((byStyle) =>
    Object.values(byStyle).some((s) => s.code === code),
  );
}

/** For choosing a runtime: the language, and what runs it. */
export const RUNTIME_LABELS: Record<RuntimeName, string> = {
  python: "Python",
  node: "JavaScript (Node.js)",
};

/** For naming what a function runs on, before its version: "Node.js 20.20.2". */
export const RUNTIME_NAMES: Record<RuntimeName, string> = {
  python: "Python",
  node: "Node.js",
};

export function runtimeName(runtime: RuntimeName, version?: string | null): string {
  return version ? `${RUNTIME_NAMES[runtime]} ${version}` : RUNTIME_NAMES[runtime];
}
