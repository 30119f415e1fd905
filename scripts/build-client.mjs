// Bundles the typed SDK (server/client) into build/client/index.js for plain
// JavaScript consumers of the package's "./client" export; TypeScript
// consumers read the types from the source.
import { build } from "esbuild";

await build({
  entryPoints: ["server/client/index.ts"],
  outfile: "build/client/index.js",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["@trpc/client"],
  logLevel: "warning",
});
