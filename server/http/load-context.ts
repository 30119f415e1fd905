import type { createCaller } from "../root";
import type { Services } from "../services";
import type { createContext } from "../trpc";

/**
 * What every Remix loader and action receives as `context`. The tRPC entry
 * points come through here rather than by import: the Remix build bundles
 * what app/ imports, and importing server/ code would load a second copy of
 * it (two sets of module state, classes that fail instanceof across copies).
 */
export interface CloudlessLoadContext {
  services: Services;
  clientIp: string;
  /**
   * The request came from this machine itself: a loopback peer, not relayed
   * by a proxy (no X-Forwarded-For). Development-only pages are for this.
   */
  fromThisHost: boolean;
  /**
   * This server as the connection reached it (`http://127.0.0.1:3000`): where
   * the app calls its own routes (the function page's console), so such a
   * call never leaves the host through a proxy or depends on BASE_URL resolving.
   */
  selfOrigin: string;
  api: { createContext: typeof createContext; createCaller: typeof createCaller };
}

declare module "@remix-run/server-runtime" {
  interface AppLoadContext extends CloudlessLoadContext {}
}
