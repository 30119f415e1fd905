"""Cloudless instance agent for Python (protocol: docs/agent-protocol.md).

Standard library only, so a runtime image needs nothing but the interpreter.
Serves HTTP/1.1 keep-alive on a unix socket (--socket PATH) or TCP
(--port N, on 0.0.0.0), loads one function once (/init) and runs it per call
(/run) in this already-started interpreter.

Rules chosen here:
- Output belongs to the call whose code wrote it: the thread serving the
  call, threads it started (transitively), and "shared" threads (started
  while loading the module, or thread-pool workers, which serve every call).
  Threads left over from an earlier call are muted; anything written while
  no call is active is dropped. os.write(1, ...) bypasses the capture.
- A script's call ends, like `python file.py`, once the non-daemon threads
  it started have ended; a handler's call ends when it returns (a returned
  coroutine or awaitable is awaited).
- Coroutines run on one event loop kept for the instance's life (so
  module-level async clients survive); tasks a call leaves behind are
  cancelled when it ends, as asyncio.run() would.
- Exit codes are what a shell would see: sys.exit(n) -> n & 0xFF.
- A host that restores instances from one saved VM (Nanos) sends a `seed`
  with /init, mixed into this instance's randomness, and its clock
  (`hostTimeMs`) with /init and /run: see "Instances restored from a
  snapshot" in docs/agent-protocol.md.
"""
import sys

# http.server imports http.client, which imports ssl (about 4 MiB of RSS for
# libssl) only to define HTTPSConnection. Hide ssl during that import, then
# forget the ssl-less http.client so user code importing it gets a full one.
sys.modules["ssl"] = None
import http.server  # noqa: E402

del sys.modules["ssl"], sys.modules["http.client"]

import builtins  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socketserver  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402

AGENT_FILE = os.path.abspath(__file__)
AGENT_MODULE = sys.modules["__main__"]  # kept alive: scripts replace __main__
INTERPRETER = "%d.%d.%d" % sys.version_info[:3]
SHARED = object()  # thread tag: its output goes to whichever call is active

fn = {"phase": "generic"}  # generic -> loading -> ready | failed
active = None  # the Call whose output is being captured, if any
busy = threading.Lock()
# A process user code forked (in a call or while its module loads) is a copy
# of this agent, connection included: only this process may answer, and a
# copy that comes back from user code ends when it would (Handler.reply).
AGENT_PID = os.getpid()
loop = None
clock = {"offset_ms": 0.0}  # host clock minus ours, when the host sent its time


def sync_clock(host_ms):
    """Take the host's clock as the reference. A VM restored from a snapshot
    resumes with the clock it was saved with, hours or days behind. In a
    Nanos VM the clock is the instance's own: set it. Anywhere else it is the
    host's, never to be touched: keep the offset for context.remaining_ms()."""
    if isinstance(host_ms, bool) or not isinstance(host_ms, (int, float)):
        return
    offset = host_ms - time.time() * 1000
    if abs(offset) > 20 and os.uname().sysname == "Nanos":
        try:
            time.clock_settime(time.CLOCK_REALTIME, host_ms / 1000)
            offset = host_ms - time.time() * 1000
        except (OSError, AttributeError):
            pass
    clock["offset_ms"] = offset


def now_ms():
    return time.time() * 1000 + clock["offset_ms"]


class SeedStream:
    """HMAC-SHA256(seed, counter) blocks: the bytes mixed into os.urandom."""

    def __init__(self, key):
        from _sha256 import sha256

        key = (sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
        self.sha256, self.counter, self.left, self.lock = sha256, 0, b"", threading.Lock()
        self.inner = bytes(b ^ 0x36 for b in key)
        self.outer = bytes(b ^ 0x5C for b in key)

    def read(self, n):
        with self.lock:
            out = [self.left]
            have = len(self.left)
            while have < n:
                self.counter += 1
                message = self.counter.to_bytes(8, "big")
                inner = self.sha256(self.inner + message).digest()
                out.append(self.sha256(self.outer + inner).digest())
                have += 32
            data = b"".join(out)
            self.left = data[n:]
            return data[:n]


def mixed(read, stream):
    def mix(*args, **kwargs):
        data = read(*args, **kwargs)
        n = len(data)
        pad = int.from_bytes(stream.read(n), "little")
        return (int.from_bytes(data, "little") ^ pad).to_bytes(n, "little")

    mix.__name__, mix.__doc__ = read.__name__, read.__doc__
    return mix


def reseed(seed):
    """Make this instance's randomness its own. VMs restored from one
    snapshot resume the same kernel random state, Mersenne Twister and all,
    so without this two instances would draw the same os.urandom, uuid4 and
    secrets values. Three steps: read past 64 KiB so Nanos's ChaCha20 re-keys
    from the CPU's RDRAND (fresh in every VM); XOR os.urandom/os.getrandom
    (and so secrets, uuid4, SystemRandom) with a stream keyed by the host's
    per-instance seed; reseed `random` from the result."""
    import random

    os.urandom(65 * 1024 + 1)
    stream = SeedStream(bytes.fromhex(seed))
    os.urandom = random._urandom = mixed(os.urandom, stream)
    if hasattr(os, "getrandom"):
        os.getrandom = mixed(os.getrandom, stream)
    random.seed(os.urandom(32))


class Capture:
    """One stream of one call: kept up to `limit` UTF-8 bytes, the rest counted."""

    def __init__(self, limit):
        self.limit, self.size, self.dropped, self.parts = limit, 0, 0, []

    def write(self, text):
        data = None if text.isascii() else text.encode("utf-8", "replace")
        n = len(text) if data is None else len(data)
        if not self.dropped and self.size + n <= self.limit:
            self.parts.append(text)
            self.size += n
            return
        if not self.dropped and self.size < self.limit:  # keep whole characters only
            head = (data or text.encode())[: self.limit - self.size].decode("utf-8", "ignore")
            self.parts.append(head)
            self.size += len(head.encode())
            n -= len(head.encode())
        self.dropped += n  # once cut, stay cut: the text remains a prefix

    def text(self):
        out = "".join(self.parts)
        if self.dropped:
            newline = "" if out.endswith("\n") or not out else "\n"
            out += f"{newline}…[truncated {self.dropped} bytes]"
        return out


class Call:
    """What output is credited to: one /run, or the /init load."""

    def __init__(self, limit, loading=False):
        self.thread, self.loading = threading.current_thread(), loading
        self.threads = []  # started by this call's code, directly or not
        self.out, self.err = Capture(limit), Capture(limit)


def capture_for(stream):
    call = active
    if call is None:
        return None
    thread = threading.current_thread()
    if thread is not call.thread:
        tag = getattr(thread, "_cloudless_call", None)
        if tag is not call and tag is not SHARED:
            return None
    return call.out if stream == 1 else call.err


_thread_start = threading.Thread.start


def _tagged_start(self):
    """Tag each new thread with the call that started it (see capture_for)."""
    call, me = active, threading.current_thread()
    if call is not None and me is call.thread:
        tag = SHARED if call.loading else call
    else:
        tag = getattr(me, "_cloudless_call", None)
    if getattr(getattr(self, "_target", None), "__module__", None) == "concurrent.futures.thread":
        tag = SHARED  # pool workers outlive the call that happened to spawn them
    self._cloudless_call = tag
    if isinstance(tag, Call):
        tag.threads.append(self)
    _thread_start(self)


threading.Thread.start = _tagged_start


class Router(io.TextIOBase):
    """Installed once as sys.stdout/sys.stderr (not swapped per call), so a
    logger that kept a reference to the stream still lands in the right call."""

    encoding, errors = "utf-8", "replace"

    def __init__(self, stream):
        self.stream = stream
        self.buffer = types.SimpleNamespace(write=self.write_bytes, flush=self.flush)

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        capture = capture_for(self.stream)
        if capture is not None:
            capture.write(text)
        return len(text)

    def write_bytes(self, data):
        return self.write(bytes(data).decode("utf-8", "replace"))

    def writable(self):
        return True

    def close(self):
        pass  # user code must not close the agent's streams


class Context:
    """The handler's `context`: the protocol's camelCase names, snake_case too."""

    def __init__(self, invocation_id, deadline_ms):
        self.invocationId = self.invocation_id = invocation_id
        self.functionId = self.function_id = fn["function_id"]
        self.version = fn["version"]
        self.deadlineMs = self.deadline_ms = deadline_ms

    def remaining_ms(self):
        if not isinstance(self.deadline_ms, (int, float)):
            return None
        return max(0, int(self.deadline_ms - now_ms()))

    remainingMs = remaining_ms


def describe(exc):
    """(one line, traceback) with the agent's own frames cut off."""
    import traceback

    tb = exc.__traceback__
    while tb is not None and (
        tb.tb_frame.f_code.co_filename == AGENT_FILE
        or "/asyncio/" in tb.tb_frame.f_code.co_filename
    ):
        tb = tb.tb_next
    line = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return line, "".join(traceback.format_exception(type(exc), exc, tb))


def exit_status(exc, call):
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    call.err.write(f"{exc.code}\n")  # sys.exit("message"): printed, status 1
    return 1


def write_code(module_file, source):
    """Write the code to a private folder (a read-only root has a tmpfs /tmp)."""
    base = os.environ.get("TMPDIR") or "/tmp"
    folder = os.path.join(base, f"cloudless-{os.getpid()}-{time.time_ns()}")
    path = os.path.join(folder, module_file)
    try:
        os.mkdir(folder, 0o700)
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
        os.chdir(folder)  # like `cd folder && python file.py`
        sys.path[0] = folder
    except OSError:
        path = module_file  # no writable /tmp: run from memory
    import linecache

    # Tracebacks read source lines from linecache; mtime None pins the entry.
    linecache.cache[path] = (len(source), None, source.splitlines(True), path)
    return path


def load_module(name, attr, code, path):
    module = types.ModuleType(name)
    module.__file__ = path
    owned = name not in sys.modules  # register it (dataclasses, pickle) unless taken
    if owned:
        sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except BaseException:
        if owned:
            del sys.modules[name]
        raise
    target = module
    for part in attr.split("."):
        target = getattr(target, part, None)
    if not callable(target):
        raise AttributeError(f"{name}.py has no function {attr!r}")
    return target


def init(body):
    global active
    style, handler, source = body.get("style"), body.get("handler") or "", body.get("code")
    env, limit = body.get("env") or {}, body.get("outputLimitBytes") or 1024 * 1024
    module_file = body.get("moduleFile")
    if fn["phase"] != "generic":
        return 409, {"error": "already initialised"}
    if style not in ("script", "handler") or not isinstance(source, str):
        return 400, {"error": "style must be script or handler, code a string"}
    if not isinstance(handler, str) or style == "handler" and "." not in handler:
        return 400, {"error": "handler must be <module>.<function>"}
    if not isinstance(module_file or "", str) or not isinstance(env, dict):
        return 400, {"error": "moduleFile must be a string, env an object"}
    if not isinstance(limit, int) or limit < 0:
        return 400, {"error": "outputLimitBytes must be a count"}
    seed = body.get("seed")
    if seed is not None and not (isinstance(seed, str) and len(seed) >= 32 and is_hex(seed)):
        return 400, {"error": "seed must be a hex string of 16 bytes or more"}
    sync_clock(body.get("hostTimeMs"))
    if seed is not None:
        reseed(seed)
    fn["phase"], started = "loading", time.perf_counter()
    module_file = os.path.basename(module_file or handler.split(".")[0] + ".py")
    fn.update(style=style, module_file=module_file, limit=limit)
    fn.update(function_id=body.get("functionId"), version=body.get("version"))
    os.environ.update({str(k): str(v) for k, v in env.items()})
    call = active = Call(limit, loading=True)
    try:
        fn["path"] = path = write_code(module_file, source)
        code = compile(source, path, "exec")
        if style == "script":
            fn["program"] = code
        else:
            name = os.path.splitext(module_file)[0]
            fn["handler"] = load_module(name, handler.split(".", 1)[1], code, path)
    except BaseException as exc:
        active, fn["phase"] = None, "failed"
        line, text = describe(exc)
        call.err.write(text)
        return 422, {"error": line, "stderr": call.err.text()}
    active, fn["phase"] = None, "ready"
    return 200, {"ok": True, "initMs": round((time.perf_counter() - started) * 1000, 3)}


def is_hex(text):
    try:
        return len(bytes.fromhex(text)) * 2 == len(text)
    except ValueError:
        return False


def run_script(args):
    sys.argv = [fn["module_file"], *args]
    main = types.ModuleType("__main__")  # fresh globals on every run
    main.__file__, main.__builtins__ = fn["path"], builtins
    sys.modules["__main__"] = main
    exec(fn["program"], main.__dict__)


def join_threads(call):
    """A script ends as `python file.py` would: after its non-daemon threads."""
    while left := [t for t in call.threads if not t.daemon and t.is_alive()]:
        for thread in left:
            thread.join()


async def _awaited(awaitable):
    return await awaitable


def run_async(awaitable):
    global loop
    import asyncio

    loop = loop or asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # per thread: calls may come on any connection
    try:
        return loop.run_until_complete(_awaited(awaitable))
    finally:
        if left := [t for t in asyncio.all_tasks(loop) if not t.done()]:
            for task in left:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))


def run(body):
    global active
    if fn["phase"] != "ready":
        return 409, {"error": "not initialised"}
    args, event = body.get("args") or [], body.get("event")
    if not isinstance(args, list):
        return 400, {"error": "args must be a list"}
    if not busy.acquire(blocking=False):
        return 409, {"error": "busy"}
    sync_clock(body.get("hostTimeMs"))
    try:
        call = active = Call(fn["limit"])
        status, result, error, started = 0, None, None, time.perf_counter()
        try:
            if fn["style"] == "script":
                run_script([str(a) for a in args])
            else:
                context = Context(body.get("invocationId"), body.get("deadlineMs"))
                result = fn["handler"]({} if event is None else event, context)
                if hasattr(result, "__await__"):
                    result = run_async(result)
        except SystemExit as exc:
            status, result = exit_status(exc, call), None
        except BaseException as exc:
            status, result = 1, None
            error, text = describe(exc)
            call.err.write(text)
        if fn["style"] == "script":
            join_threads(call)
        duration = (time.perf_counter() - started) * 1000
        lingering = any(t.is_alive() for t in call.threads) or has_children()
        active = None  # from here on, stray writes are dropped
        stdout = call.out.text()
        result, result_cut = (stdout, False) if fn["style"] == "script" else cap(result)
        return 200, {
            "status": status,
            "result": result,
            "stdout": stdout,
            "stderr": call.err.text(),
            "durationMs": round(duration, 3),
            "error": error,
            "truncated": {
                "stdout": call.out.dropped > 0,
                "stderr": call.err.dropped > 0,
                "result": result_cut,
            },
            "lingering": lingering,
        }
    finally:
        busy.release()


def cap(result):
    """A returned value whose JSON is over the output limit becomes the start
    of that JSON text with the truncation marker, like output."""
    if result is None or isinstance(result, (bool, int, float)):
        return result, False
    try:
        text = json.dumps(result, default=string_form, allow_nan=False, separators=(",", ":")).encode()
    except (TypeError, ValueError, RecursionError):
        return result, False  # encode() turns it into its string form
    if len(text) <= fn["limit"]:
        return result, False
    head = text[: fn["limit"]].decode(errors="ignore")
    return f"{head}\n…[truncated {len(text) - len(head.encode())} bytes]", True


def has_children():
    """Whether a process this agent started (user code's) still runs: it would
    run on into the next call, so the host destroys the instance instead."""
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return False  # no /proc (or no processes at all, as on Nanos)
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/children") as f:
                if f.read().strip():
                    return True
        except OSError:
            pass
    return False


def string_form(value):
    try:
        return str(value)
    except Exception:
        return object.__repr__(value)


def encode(payload):
    try:  # values JSON cannot hold become their string form (default=)
        text = json.dumps(payload, default=string_form, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        payload["result"] = string_form(payload.get("result"))  # NaN, cycles
        text = json.dumps(payload)
    return text.encode()


def health():
    state = "generic" if fn["phase"] == "loading" else fn["phase"]
    info = {"ok": True, "state": state, "runtime": "python", "interpreter": INTERPRETER}
    return 200, {**info, "pid": os.getpid()}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16  # headers and body leave in one write (flushed per request)
    timeout = None  # keep-alive connections idle as long as the host likes
    routes = {"/init": init, "/run": run}

    def do_GET(self):
        self.reply(*(health() if self.path == "/health" else (404, {"error": "not found"})))

    def do_POST(self):
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self.close_connection = True  # the body's end is unknown
            return self.reply(400, {"error": "Content-Length required"})
        raw, route = self.rfile.read(int(length)), self.routes.get(self.path)
        if route is None or self.command != "POST":
            return self.reply(404, {"error": "not found"})
        try:
            body = json.loads(raw)
        except ValueError as exc:
            return self.reply(400, {"error": f"malformed JSON: {exc}"})
        if not isinstance(body, dict):
            return self.reply(400, {"error": "body must be a JSON object"})
        try:
            self.reply(*route(body))
        except Exception as exc:  # an agent bug: answer, keep serving
            line, text = describe(exc)
            sys.__stderr__.write(text)
            self.reply(500, {"error": line})

    do_PUT = do_PATCH = do_DELETE = do_POST  # answered 404 after reading the body

    def reply(self, code, payload):
        if os.getpid() != AGENT_PID:
            os._exit(0)  # a forked copy of the agent (see AGENT_PID)
        body = encode(payload)
        self.send_response_only(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass  # no per-request logging on the hot path


class TCPHandler(Handler):
    disable_nagle_algorithm = True  # small replies must not wait for delayed ACKs


def make_server(argv):
    options = dict(zip(argv[::2], argv[1::2]))
    if "--socket" in options:
        address, handler = options["--socket"], Handler
        base = socketserver.UnixStreamServer
        if os.path.exists(address):
            os.unlink(address)
    elif "--port" in options:
        address, handler = ("0.0.0.0", int(options["--port"])), TCPHandler
        base = socketserver.TCPServer
    else:
        sys.exit("usage: agent.py --socket PATH | --port N")

    class Server(socketserver.ThreadingMixIn, base):
        # Connection threads are not daemons: threads user code starts inherit
        # that, so they default to non-daemon as under `python file.py`.
        daemon_threads, block_on_close, allow_reuse_address = False, False, True

        def handle_error(self, request, client_address):
            import traceback

            sys.__stderr__.write(traceback.format_exc())

    server = Server(address, handler)
    ready = {"ready": True, "runtime": "python", "interpreter": INTERPRETER, "pid": os.getpid()}
    if handler is Handler:
        os.chmod(address, 0o666)  # the host connects as another user than the container's
        ready["socket"] = address
    else:
        ready["port"] = server.server_address[1]
    return server, ready


def main():
    server, ready = make_server(sys.argv[1:])
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    sys.stdout, sys.stderr = Router(1), Router(2)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        os._exit(0)  # without waiting for idle keep-alive connections


if __name__ == "__main__":
    main()
