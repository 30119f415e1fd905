import type { Services } from "../services";

/** What every Remix loader and action receives as `context`. */
export interface CloudlessLoadContext {
  services: Services;
  clientIp: string;
}

declare module "@remix-run/server-runtime" {
  interface AppLoadContext extends CloudlessLoadContext {}
}
