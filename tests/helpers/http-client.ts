/** Headers a browser attaches to a same-origin form post or fetch. */
export function sameOrigin(baseUrl: string): Record<string, string> {
  return { Origin: new URL(baseUrl).origin, "Sec-Fetch-Site": "same-origin" };
}

export interface TrpcResult<T = unknown> {
  status: number;
  headers: Headers;
  body: {
    result?: { data: T };
    error?: {
      message: string;
      code: number;
      data: {
        code: string;
        httpStatus: number;
        path?: string;
        fieldErrors?: Record<string, string[]>;
        stack?: string;
      };
    };
  };
  text: string;
}

/**
 * A minimal browser over real HTTP: a cookie jar, form posts, tRPC calls, and
 * redirects left unfollowed so tests can check them.
 */
export class HttpClient {
  private readonly cookies = new Map<string, string>();

  constructor(
    readonly baseUrl: string,
    /** Sent with every request (e.g. same-origin browser headers). */
    readonly defaultHeaders: Record<string, string> = sameOrigin(baseUrl),
  ) {}

  get cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  setCookie(name: string, value: string) {
    this.cookies.set(name, value);
  }

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(this.defaultHeaders);
    for (const [k, v] of new Headers(init.headers)) headers.set(k, v);
    if (this.cookies.size > 0 && !headers.has("cookie")) headers.set("cookie", this.cookieHeader);
    const response = await fetch(new URL(path, this.baseUrl), {
      ...init,
      headers,
      redirect: "manual",
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const name = pair.slice(0, pair.indexOf("="));
      const value = pair.slice(pair.indexOf("=") + 1);
      if (/max-age=0/i.test(line) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  get(path: string, headers: Record<string, string> = {}) {
    return this.request(path, { headers });
  }

  /** A classic (no JavaScript) form post, as the browser sends it. */
  form(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
    return this.request(path, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  }

  async mutation<T = unknown>(
    procedure: string,
    input?: unknown,
    headers: Record<string, string> = {},
  ): Promise<TrpcResult<T>> {
    const response = await this.request(`/api/trpc/${procedure}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body: input === undefined ? undefined : JSON.stringify(input),
    });
    return trpcResult<T>(response);
  }

  /** A tRPC POST with a body exactly as given (malformed JSON, say). */
  async mutationRaw(procedure: string, body: string): Promise<TrpcResult> {
    const response = await this.request(`/api/trpc/${procedure}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
    });
    return trpcResult(response);
  }

  async query<T = unknown>(
    procedure: string,
    input?: unknown,
    headers: Record<string, string> = {},
  ): Promise<TrpcResult<T>> {
    const search = input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`;
    return trpcResult<T>(await this.request(`/api/trpc/${procedure}${search}`, { headers }));
  }
}

async function trpcResult<T>(response: Response): Promise<TrpcResult<T>> {
  const text = await response.text();
  let body: TrpcResult<T>["body"];
  try {
    body = JSON.parse(text);
  } catch {
    body = {};
  }
  return { status: response.status, headers: response.headers, body, text };
}
