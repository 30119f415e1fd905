/**
 * A browser's cookie jar for one origin, with the rules that matter for
 * scoped cookies: Path matching (RFC 6265 5.1.4) and deletion by Max-Age=0.
 * Redirects are never followed, so a test walks them step by step.
 */
export class CookieJar {
  private readonly cookies = new Map<string, { name: string; value: string; path: string }>();

  constructor(readonly origin: string) {}

  /** fetch() with the cookies that apply; stores what the answer sets (only from this origin). */
  async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url, this.origin);
    const headers = new Headers(init.headers);
    const own = target.origin === this.origin;
    const cookie = own ? this.header(target.pathname) : "";
    if (cookie) headers.set("cookie", cookie);
    const response = await fetch(target, { ...init, headers, redirect: "manual" });
    if (own) this.store(response.headers.getSetCookie(), target.pathname);
    return response;
  }

  /** The Cookie header a request to `path` carries. */
  header(path: string): string {
    return [...this.cookies.values()]
      .filter((c) => pathMatches(path, c.path))
      .map((c) => `${c.name}=${c.value}`)
      .join("; ");
  }

  get(name: string): string | undefined {
    return [...this.cookies.values()].find((c) => c.name === name)?.value;
  }

  names(): string[] {
    return [...this.cookies.values()].map((c) => c.name);
  }

  set(name: string, value: string, path = "/") {
    this.cookies.set(`${name};${path}`, { name, value, path });
  }

  private store(lines: string[], requestPath: string) {
    for (const line of lines) {
      const [pair, ...attributes] = line.split(";").map((part) => part.trim());
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const attr = (key: string) =>
        attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
      const path = attr("path") ?? defaultPath(requestPath);
      const maxAge = attr("max-age");
      const expires = attr("expires");
      const gone =
        (maxAge !== undefined && Number(maxAge) <= 0) ||
        (expires !== undefined && Date.parse(expires) <= Date.now());
      if (gone) this.cookies.delete(`${name};${path}`);
      else this.cookies.set(`${name};${path}`, { name, value, path });
    }
  }
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith("/") || requestPath[cookiePath.length] === "/";
}

function defaultPath(requestPath: string): string {
  const slash = requestPath.lastIndexOf("/");
  return slash <= 0 ? "/" : requestPath.slice(0, slash);
}

/** The Set-Cookie line for `name` in a response, for checking its attributes. */
export function setCookieLine(response: Response, name: string): string | undefined {
  return response.headers.getSetCookie().find((line) => line.startsWith(`${name}=`));
}
