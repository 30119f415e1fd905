/** Remix v2, classic compiler. The app is ESM ("type": "module"), so the server
 * build is ESM too and ESM-only packages (remix-auth) load without bundling. */
/** @type {import('@remix-run/dev').AppConfig} */
export default {
  ignoredRouteFiles: ["**/.*", "**/*.test.{ts,tsx}"],
  serverModuleFormat: "esm",
  serverPlatform: "node",
  // Prism's language files are CommonJS that extend a global Prism, imported
  // without an extension: bundled, esbuild resolves them and keeps their order.
  serverDependenciesToBundle: [/^prismjs/],
  serverBuildPath: "build/index.js",
  assetsBuildDirectory: "public/build",
  publicPath: "/build/",
  future: {
    v3_fetcherPersist: true,
    v3_relativeSplatPath: true,
    v3_throwAbortReason: true,
    v3_lazyRouteDiscovery: true,
    v3_singleFetch: true,
  },
};
