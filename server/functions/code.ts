import { createHash } from "node:crypto";
import { RUNTIME_EXTENSIONS, type RuntimeName } from "./schemas";
import { checkSyntax, type Interpreters, type SyntaxProblem } from "./syntax-check";

/** A refusal of uploaded code, with the message to show (and the line, for syntax errors). */
export class CodeError extends Error {
  constructor(
    message: string,
    readonly line?: number,
    readonly tooLarge = false,
  ) {
    super(message);
  }
}

export interface CheckedCode {
  bytes: Uint8Array;
  sha256: string;
  /** `<module>.<ext>`: the name the code is stored and loaded under. */
  moduleFile: string;
  extension: string;
}

/**
 * Every check an upload must pass before anything is stored: size, UTF-8,
 * no binary content, an extension that fits the runtime, a file name that
 * matches the handler's module, and a syntax check by the interpreter.
 */
export async function checkCode(
  input: { codeBase64: string; fileName?: string; runtime: RuntimeName; handler: string },
  options: { maxBytes: number; interpreters: Interpreters },
): Promise<CheckedCode> {
  // Reject by encoded length first, so an oversized upload is never decoded.
  if (
    Math.floor((input.codeBase64.length * 3) / 4) - padding(input.codeBase64) >
    options.maxBytes
  ) {
    throw new CodeError(
      `The file is larger than ${formatBytes(options.maxBytes)}`,
      undefined,
      true,
    );
  }
  const bytes = new Uint8Array(Buffer.from(input.codeBase64, "base64"));
  if (bytes.byteLength === 0) throw new CodeError("The file is empty");
  if (bytes.byteLength > options.maxBytes) {
    throw new CodeError(
      `The file is larger than ${formatBytes(options.maxBytes)}`,
      undefined,
      true,
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new CodeError("The file is not valid UTF-8 text (is it a binary file?)");
  }
  if (text.includes("\u0000")) throw new CodeError("The file contains NUL bytes: it looks binary");

  const module = input.handler.split(".")[0]!;
  const allowed = RUNTIME_EXTENSIONS[input.runtime];
  let extension = allowed[0]!;
  if (input.fileName) {
    const base = input.fileName.split(/[\\/]/).pop() ?? "";
    const dot = base.lastIndexOf(".");
    const ext = dot > 0 ? base.slice(dot + 1).toLowerCase() : "";
    if (!allowed.includes(ext)) {
      throw new CodeError(
        `A ${input.runtime} function needs a ${allowed.map((e) => `.${e}`).join(" or ")} file, not "${base}"`,
      );
    }
    const name = base.slice(0, dot);
    if (name !== module) {
      throw new CodeError(
        `The handler's module is "${module}", so the file must be named ${module}.${ext} (got "${base}")`,
      );
    }
    extension = ext;
  }
  const moduleFile = `${module}.${extension}`;
  const problem = await checkSyntax(input.runtime, moduleFile, bytes, options.interpreters);
  if (problem) throw new CodeError(syntaxMessage(moduleFile, problem), problem.line);
  return {
    bytes,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    moduleFile,
    extension,
  };
}

/**
 * The first line says it all ("Syntax error in calc.py at line 3: invalid
 * syntax"), for one-line displays; the excerpt with the caret follows.
 */
export function syntaxMessage(moduleFile: string, problem: SyntaxProblem): string {
  const where = problem.line ? ` at line ${problem.line}` : "";
  const first = `Syntax error in ${moduleFile}${where}: ${problem.summary}`;
  return problem.excerpt ? `${first}\n${problem.excerpt}` : first;
}

function padding(b64: string) {
  return b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024)
    return `${(bytes / 1024 / 1024).toFixed(bytes % (1024 * 1024) ? 1 : 0)} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} bytes`;
}
