import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { RuntimeName } from "./schemas";

export interface SyntaxProblem {
  line?: number;
  /** The interpreter's own verdict, on one line, e.g. "'(' was never closed". */
  summary: string;
  /** The offending source line with the interpreter's caret under it, when it printed one. */
  excerpt?: string;
}

export interface Interpreters {
  pythonBin: string;
  nodeBin: string;
}

const TIME_LIMIT_MS = 10_000;

/**
 * The interpreter itself could not be run (missing, not executable): a fault
 * of this server's setup, not of the uploaded code, so never shown as a syntax error.
 */
export class CheckerUnavailableError extends Error {}

/**
 * Compiles the module with the runtime's own interpreter in a child process
 * (`python3 -m py_compile`, `node --check`), under a time limit, without
 * running it. Returns null when it compiles, or the error with its line.
 */
export async function checkSyntax(
  runtime: RuntimeName,
  fileName: string,
  source: Uint8Array,
  interpreters: Interpreters,
): Promise<SyntaxProblem | null> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "cloudless-check-"));
  const file = path.join(dir, fileName);
  try {
    await fs.writeFile(file, source);
    const [bin, args] =
      runtime === "python"
        ? [interpreters.pythonBin, ["-I", "-m", "py_compile", file]]
        : [interpreters.nodeBin, ["--check", file]];
    const result = await run(bin, args, dir);
    if (result.spawnError) {
      throw new CheckerUnavailableError(
        `Cannot check ${runtime} code on this server: ${bin} does not run (${result.spawnError})`,
      );
    }
    if (result.timedOut) return { summary: "the syntax check took too long and was stopped" };
    if (result.code === 0) return null;
    return parseProblem(runtime, result.stderr.split(file).join(fileName), fileName);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function run(bin: string, args: string[], cwd: string) {
  return new Promise<{
    code: number | null;
    stderr: string;
    timedOut: boolean;
    spawnError?: string;
  }>((resolve) => {
    execFile(
      bin,
      args,
      {
        cwd,
        timeout: TIME_LIMIT_MS,
        killSignal: "SIGKILL",
        maxBuffer: 256 * 1024,
        // A minimal environment: nothing of the server's (secrets) reaches the checker.
        env: {
          PATH: process.env.PATH ?? "",
          PYTHONDONTWRITEBYTECODE: "1",
        } as unknown as NodeJS.ProcessEnv,
      },
      (error, _stdout, stderr) => {
        const e = error as (NodeJS.ErrnoException & { killed?: boolean; code?: unknown }) | null;
        // A string code is Node's own failure: spawn errors (ENOENT, EACCES) or an
        // overlong output (ERR_CHILD_PROCESS_STDIO_MAXBUFFER), where the interpreter did run.
        if (e && typeof e.code === "string" && e.code !== "ERR_CHILD_PROCESS_STDIO_MAXBUFFER") {
          resolve({ code: null, stderr: "", timedOut: false, spawnError: e.code });
          return;
        }
        resolve({
          code: e ? (typeof e.code === "number" ? e.code : 1) : 0,
          stderr: String(stderr),
          timedOut: Boolean(e?.killed),
        });
      },
    );
  });
}

/**
 * Keeps the interpreter's own words, split into a one-line verdict (so a CLI
 * or a form can show a single clear line) and the source excerpt with its caret.
 */
export function parseProblem(
  runtime: RuntimeName,
  stderr: string,
  fileName: string,
): SyntaxProblem {
  // Node appends its JS stack ("    at …") and version; neither is about the user's code.
  const lines = stderr
    .replace(/\r/g, "")
    .split("\n")
    .filter((l) => !/^\s+at |^Node\.js v|^Traceback/.test(l));
  const verdictIndex = findLastIndex(lines, (l) =>
    /^(Sorry: )?[A-Za-z_.]*(Error|Exception)\b/.test(l),
  );
  const lineMatch =
    runtime === "python"
      ? stderr.match(/line (\d+)/)
      : stderr.match(new RegExp(`${escapeRegExp(fileName)}:(\\d+)`));
  const line = lineMatch ? Number(lineMatch[1]) : undefined;
  if (verdictIndex < 0) {
    // Not the shape we know: show what the interpreter said rather than guess.
    const text = lines.join("\n").trim();
    return { line, summary: (text.split("\n")[0] ?? "").slice(0, 300) || "it does not compile" };
  }
  const summary = lines[verdictIndex]!.replace(/^Sorry: /, "")
    .replace(/^SyntaxError: /, "")
    // Python repeats the place in the verdict ("(calc.py, line 2)"); the line is shown already.
    .replace(/\s*\([^()]*, line \d+\)\s*$/, "")
    .trim()
    .slice(0, 300);
  // What sits between the location line and the verdict: the source line and the caret.
  const excerpt = lines
    .slice(0, verdictIndex)
    .filter((l) => !/^\s*File ".*", line \d+/.test(l) && !l.startsWith(`${fileName}:`))
    .join("\n")
    .replace(/^\n+|\s+$/g, "")
    .slice(0, 2000);
  return { line, summary, excerpt: excerpt || undefined };
}

function findLastIndex<T>(items: T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i]!)) return i;
  return -1;
}

function escapeRegExp(value: string) {
  return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
