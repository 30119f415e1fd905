/**
 * The manifest Nanos's `mkfs` reads on stdin: one tuple `(key:value …)` with
 * the file tree under `children`, the program, its argv and environment.
 * mkfs does not copy host folders recursively, so every file is listed, and
 * a folder that must exist empty (/tmp) is listed as `(children:())`.
 */
export interface ManifestSpec {
  /** Every file of the image: its path in the guest and the host file to copy. */
  files: Array<{ guest: string; host: string }>;
  /** Folders that must exist even when empty. */
  dirs?: string[];
  /** Absolute path of the program in the guest. */
  program: string;
  /** argv, including argv[0]. */
  args: string[];
  env: Record<string, string>;
  /** Raw top-level entries, e.g. `{ readonly_rootfs: "t" }` (values are written unquoted). */
  extra?: Record<string, string>;
}

type Tree = Map<string, Tree | string>;

export class ManifestError extends Error {}

export function renderManifest(spec: ManifestSpec): string {
  const root: Tree = new Map();
  for (const dir of spec.dirs ?? []) folder(root, parts(dir), dir);
  for (const file of spec.files) {
    const names = parts(file.guest);
    const name = names.pop();
    if (!name) throw new ManifestError(`Not a file path: "${file.guest}"`);
    const parent = folder(root, names, file.guest);
    const existing = parent.get(name);
    if (existing instanceof Map) {
      throw new ManifestError(`${file.guest} is both a folder and a file`);
    }
    if (existing !== undefined && existing !== file.host) {
      throw new ManifestError(
        `${file.guest} comes from two host files: ${existing} and ${file.host}`,
      );
    }
    parent.set(name, file.host);
  }
  if (!spec.program.startsWith("/")) {
    throw new ManifestError(`The program path must be absolute: "${spec.program}"`);
  }
  const lines = ["(", " children:(", ...renderTree(root, "  "), " )"];
  lines.push(` program:${quote(spec.program)}`);
  lines.push(` arguments:[${spec.args.map(quote).join(" ")}]`);
  const env = Object.entries(spec.env).map(([k, v]) => `${quote(k)}:${quote(v)}`);
  lines.push(` environment:(${env.join(" ")})`);
  for (const [key, value] of Object.entries(spec.extra ?? {})) {
    if (!/^[A-Za-z_][\w-]*$/.test(key)) throw new ManifestError(`Bad manifest key "${key}"`);
    lines.push(` ${key}:${value}`);
  }
  lines.push(")", "");
  return lines.join("\n");
}

function parts(guestPath: string): string[] {
  if (!guestPath.startsWith("/"))
    throw new ManifestError(`Guest paths must be absolute: "${guestPath}"`);
  const names = guestPath.split("/").filter(Boolean);
  if (names.some((n) => n === "." || n === "..")) {
    throw new ManifestError(`Guest paths must be normalised: "${guestPath}"`);
  }
  return names;
}

function folder(root: Tree, names: string[], forPath: string): Tree {
  let node = root;
  for (const name of names) {
    let next = node.get(name);
    if (next === undefined) {
      next = new Map();
      node.set(name, next);
    }
    if (typeof next === "string") {
      throw new ManifestError(`${forPath} needs ${name} to be a folder, but it is a file`);
    }
    node = next;
  }
  return node;
}

function renderTree(tree: Tree, indent: string): string[] {
  const out: string[] = [];
  for (const name of [...tree.keys()].sort()) {
    const node = tree.get(name)!;
    if (typeof node === "string") {
      out.push(`${indent}${quote(name)}:(contents:(host:${quote(node)}))`);
    } else if (node.size === 0) {
      out.push(`${indent}${quote(name)}:(children:())`);
    } else {
      out.push(
        `${indent}${quote(name)}:(children:(`,
        ...renderTree(node, `${indent} `),
        `${indent}))`,
      );
    }
  }
  return out;
}

/** mkfs's parser takes double-quoted strings with backslash escapes. */
export function quote(value: string): string {
  if (/[\0\n\r]/.test(value)) throw new ManifestError(`Unsupported character in "${value}"`);
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
