// The hostile functions the hostile suites deploy: one module per runtime,
// each attack chosen by the event's `mode`, so a test names what it does.

export const PYTHON_ATTACKER = `import os, sys, threading, time, subprocess

def main(event, context):
    mode = event.get("mode")
    if mode == "fork":
        while True:
            try:
                os.fork()
            except Exception:
                pass  # EAGAIN at the pids limit, or MemoryError: keep going
    if mode == "heap":
        hoard = [b"x" * (1 << 20) for _ in range(2000)]
    if mode == "string":
        huge = "x" * (1 << 30)
    if mode == "spin":
        while True:
            pass
    if mode == "recursion":
        def down(n):
            return down(n + 1)
        down(0)
    if mode == "deep-recursion":
        # Past the interpreter's own guard: the C stack overflows.
        sys.setrecursionlimit(10 ** 8)
        def deeper(n):
            return deeper(n + 1)
        deeper(0)
    if mode == "thread":
        def writer():
            while True:
                print("a thread that outlived its call")
                time.sleep(0.05)
        threading.Thread(target=writer, daemon=True).start()
        return "left a thread"
    if mode == "fork-answer":
        # The child is a copy of the agent, mid-call: it must not answer for the parent.
        if os.fork() == 0:
            return "the child answered"
        time.sleep(0.5)
        os.wait()
        return "the parent answered"
    if mode == "child":
        subprocess.Popen([sys.executable, "-c", "import time\\nwhile True:\\n    print('a child that outlived its call', flush=True)\\n    time.sleep(0.05)"])
        return "left a child"
    if mode == "thread-sleep":
        sleeper = threading.Thread(target=time.sleep, args=(60,))
        sleeper.start()
        sleeper.join()
    if mode == "crash-after":
        threading.Timer(0.1, os._exit, [3]).start()
        return "returned"
    if mode == "stdin":
        return {"stdin": sys.stdin.read()}
    if mode == "close-stdout":
        sys.stdout.close()
        os.close(1)
        return "closed"
    if mode == "flood-stdout":
        sys.stdout.write("o" * (8 << 20))
    if mode == "flood-stderr":
        for _ in range(2048):
            sys.stderr.write("e" * 4095 + "\\n")
    if mode == "huge-return":
        return {"huge": "r" * (4 << 20)}
    if mode == "binary":
        sys.stdout.buffer.write(b"bin:\\x00\\xff\\xfe\\x80:end")
        sys.stdout.flush()
        return "\\u0000 and \\udcff"
    if mode == "hello":
        print("hello")
    return "ok"
`;

export const NODE_ATTACKER = `const { spawn } = require("node:child_process");

exports.main = async (event) => {
  switch (event.mode) {
    case "heap": {
      const hoard = [];
      for (;;) hoard.push(new Array(1e5).fill(Math.random()));
    }
    case "string":
      // Flat, every byte written (repeat() alone builds a rope of a few KB).
      return Buffer.alloc(2 ** 28, "x").toString("latin1").length;
    case "spin":
      for (;;) {}
    case "recursion": {
      const down = (n) => down(n + 1) + 1;
      return down(0);
    }
    case "interval":
      setInterval(() => console.log("a timer that outlived its call"), 50);
      return "left a timer";
    case "child":
      spawn(process.execPath, ["-e", "setInterval(() => console.log('a child that outlived its call'), 50)"], { stdio: "inherit" });
      return "left a child";
    case "rejection":
      Promise.reject(new Error("nobody catches this"));
      await new Promise((r) => setTimeout(r, 50));
      return "returned";
    case "crash-after":
      setTimeout(() => process.kill(process.pid, "SIGKILL"), 100).unref();
      return "returned";
    case "stdin":
      return { stdin: require("node:fs").readFileSync(0, "utf8") };
    case "close-stdout":
      process.stdout.destroy();
      return "closed";
    case "flood-stdout":
      for (let i = 0; i < 128; i++) process.stdout.write("o".repeat(65536));
      return "flooded";
    case "flood-stderr":
      for (let i = 0; i < 2048; i++) console.error("e".repeat(4095));
      return "flooded";
    case "huge-return":
      return { huge: "r".repeat(4 << 20) };
    case "binary":
      process.stdout.write(Buffer.from([0x62, 0x69, 0x6e, 0x3a, 0x00, 0xff, 0xfe, 0x80, 0x3a, 0x65, 0x6e, 0x64]));
      return "\\u0000 and \\udcff";
    case "hello":
      console.log("hello");
      break;
  }
  return "ok";
};
`;

/** A victim: another user's function that answers at once. */
export const VICTIM = `def main(event, context):
    return "still fine"
`;

/**
 * Looks for what it must not find: the host's secrets in its environment
 * and files, other functions' code, what an earlier function left in the
 * interpreter or /tmp; and leaves its own traces for the next one to look for.
 */
export const SNOOPER = `import builtins, json, os, sys

def readable(path):
    try:
        with open(path, "rb") as f:
            return f.read(200).decode(errors="replace")
    except OSError as error:
        return None

def files_containing(marker, roots):
    found = []
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if os.path.join(folder, d) not in ("/proc", "/sys", "/dev")]
            for name in files:
                path = os.path.join(folder, name)
                try:
                    with open(path, "rb") as f:
                        if marker.encode() in f.read(1 << 20):
                            found.append(path)
                except OSError:
                    pass
    return found

def main(event, context):
    marker = event.get("marker", "")
    seen = {
        "environ": dict(os.environ),
        "files": {p: readable(p) for p in event.get("paths", [])},
        "docker_socket": os.path.exists("/var/run/docker.sock") or os.path.exists("/run/docker.sock"),
        "pid1": (readable("/proc/1/cmdline") or "").replace("\\x00", " "),
        "code_elsewhere": [p for p in files_containing(marker, ["/tmp", "/run", "/var", "/etc", "/home", "/root", "/srv", "/mnt", "/opt", "/agent"]) if not p.startswith("/proc")] if marker else [],
        "tmp": sorted(os.listdir("/tmp")),
        "leak_global": getattr(builtins, "cloudless_leak", None),
        "leak_env": os.environ.get("CLOUDLESS_LEAK"),
        "leak_file": readable("/tmp/cloudless-leak"),
    }
    if event.get("leave"):
        builtins.cloudless_leak = event["leave"]
        os.environ["CLOUDLESS_LEAK"] = event["leave"]
        with open("/tmp/cloudless-leak", "w") as f:
            f.write(event["leave"])
    return seen
`;
