import { describe, expect, it } from "vitest";
import { ManifestError, quote, renderManifest } from "./manifest";

describe("renderManifest", () => {
  const spec = {
    files: [
      { guest: "/usr/bin/python3.11", host: "/usr/bin/python3.11" },
      { guest: "/usr/lib/python3.11/os.py", host: "/cache/stdlib/os.py" },
      { guest: "/usr/lib/python3.11/json/__init__.py", host: "/cache/stdlib/json/__init__.py" },
      { guest: "/agent/agent.py", host: "/repo/runners/agents/python/agent.py" },
    ],
    dirs: ["/tmp"],
    program: "/usr/bin/python3.11",
    args: ["python3", "/agent/agent.py", "--port", "8080"],
    env: { PYTHONDONTWRITEBYTECODE: "1", PATH: "/usr/bin:/bin" },
  };

  it("lists every file in nested children, sorted, with the program, argv and environment", () => {
    expect(renderManifest(spec)).toBe(`(
 children:(
  "agent":(children:(
   "agent.py":(contents:(host:"/repo/runners/agents/python/agent.py"))
  ))
  "tmp":(children:())
  "usr":(children:(
   "bin":(children:(
    "python3.11":(contents:(host:"/usr/bin/python3.11"))
   ))
   "lib":(children:(
    "python3.11":(children:(
     "json":(children:(
      "__init__.py":(contents:(host:"/cache/stdlib/json/__init__.py"))
     ))
     "os.py":(contents:(host:"/cache/stdlib/os.py"))
    ))
   ))
  ))
 )
 program:"/usr/bin/python3.11"
 arguments:["python3" "/agent/agent.py" "--port" "8080"]
 environment:("PYTHONDONTWRITEBYTECODE":"1" "PATH":"/usr/bin:/bin")
)
`);
  });

  it("adds raw top-level entries", () => {
    expect(renderManifest({ ...spec, extra: { readonly_rootfs: "t" } })).toContain(
      "\n readonly_rootfs:t\n)",
    );
    expect(() => renderManifest({ ...spec, extra: { "bad key": "t" } })).toThrow(ManifestError);
  });

  it("quotes names and values with backslash escapes", () => {
    expect(quote('a "b" \\c')).toBe('"a \\"b\\" \\\\c"');
    const text = renderManifest({ ...spec, env: { GREETING: 'say "hi"' } });
    expect(text).toContain('"GREETING":"say \\"hi\\""');
    expect(() => quote("two\nlines")).toThrow(ManifestError);
  });

  it("refuses trees mkfs would get wrong", () => {
    const file = (guest: string, host = "/h") => ({ guest, host });
    expect(() => renderManifest({ ...spec, files: [file("relative/path")] })).toThrow(/absolute/);
    expect(() => renderManifest({ ...spec, files: [file("/a/../b")] })).toThrow(/normalised/);
    expect(() => renderManifest({ ...spec, files: [file("/a"), file("/a/b")] })).toThrow(
      /folder, but it is a file/,
    );
    expect(() => renderManifest({ ...spec, files: [file("/a/b"), file("/a")] })).toThrow(
      /both a folder and a file/,
    );
    expect(() => renderManifest({ ...spec, files: [file("/a", "/x"), file("/a", "/y")] })).toThrow(
      /two host files/,
    );
    // The same file listed twice is harmless.
    expect(() => renderManifest({ ...spec, files: [file("/a"), file("/a")] })).not.toThrow();
    expect(() => renderManifest({ ...spec, program: "python3" })).toThrow(/absolute/);
  });
});
