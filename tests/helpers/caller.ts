import { TRPCError } from "@trpc/server";
import { createCaller } from "../../server/root";
import type { Services } from "../../server/services";
import { createContext } from "../../server/trpc";

export type Caller = ReturnType<typeof createCaller>;

let nextIp = 1;

/**
 * One "browser" talking to the procedures through createCaller, the way Remix
 * loaders do: a fresh context per call (so the session is looked up again) and
 * a cookie jar fed by the Set-Cookie headers the procedures produce.
 */
export class CallerClient {
  /** `cl_session=<signed value>`, or null when signed out. */
  cookie: string | null = null;
  readonly ip: string;

  constructor(
    private readonly services: Services,
    private readonly options: { ip?: string; url?: string; userAgent?: string } = {},
  ) {
    // A distinct address per client, so per-IP rate limits only bite where a test wants them.
    this.ip = options.ip ?? `198.51.100.${nextIp++ % 250}`;
  }

  async run<T>(work: (caller: Caller) => Promise<T>): Promise<T> {
    const headers = new Headers();
    if (this.cookie) headers.set("cookie", this.cookie);
    if (this.options.userAgent) headers.set("user-agent", this.options.userAgent);
    const resHeaders = new Headers();
    const ctx = await createContext(
      this.services,
      { url: this.options.url ?? "http://cloudless.test/", headers, ip: this.ip },
      resHeaders,
    );
    try {
      return await work(createCaller(ctx));
    } finally {
      this.absorb(resHeaders);
    }
  }

  /** The raw cookie value (signed), as the browser stores it. */
  get cookieValue(): string | null {
    return this.cookie ? this.cookie.slice(this.cookie.indexOf("=") + 1) : null;
  }

  private absorb(resHeaders: Headers) {
    for (const line of resHeaders.getSetCookie()) {
      const [pair] = line.split(";");
      const value = pair.slice(pair.indexOf("=") + 1);
      this.cookie = /max-age=0/i.test(line) || value === "" ? null : pair;
    }
  }
}

/** The TRPCError a call failed with; fails the test when it succeeded or failed otherwise. */
export async function trpcError(call: Promise<unknown>): Promise<TRPCError> {
  const error = await call.then(
    () => {
      throw new Error("expected the call to fail with a TRPCError, but it succeeded");
    },
    (e: unknown) => e,
  );
  if (!(error instanceof TRPCError)) throw error;
  return error;
}

/**
 * The services with a database whose `<model>.findUnique` holds every caller
 * until `parties` of them have read: check-then-write races then happen every
 * run, not only when the timing is unlucky.
 */
export function withReadBarrier(
  services: Services,
  model: "user" | "userToken",
  parties: number,
): Services {
  let arrived = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const real = services.db;
  const delegate = new Proxy(real[model], {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (prop !== "findUnique" || typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        const result = await value.apply(target, args);
        arrived += 1;
        if (arrived >= parties) release();
        await gate;
        return result;
      };
    },
  });
  const db = new Proxy(real, {
    get(target, prop) {
      if (prop === model) return delegate;
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { ...services, db };
}
