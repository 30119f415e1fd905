import { defineConfig } from "vitest/config";

/**
 * Three projects: unit tests beside the code; integration tests against a
 * real PostgreSQL (embedded unless DATABASE_URL is set), one database per test
 * file; browser tests driving Debian's chromium against a real server.
 */
export default defineConfig({
  resolve: { alias: { "~": new URL("./app", import.meta.url).pathname } },
  test: {
    globalSetup: ["tests/setup/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: [
            "server/**/*.test.ts",
            "app/**/*.test.ts",
            "runners/**/*.test.ts",
            "benchmark/**/*.test.ts",
          ],
        },
      },
      {
        extends: true,
        test: { name: "integration", include: ["tests/integration/**/*.test.ts"] },
      },
      {
        extends: true,
        test: {
          name: "browser",
          include: ["tests/browser/**/*.test.ts"],
          // One chromium at a time on two cores.
          fileParallelism: false,
          testTimeout: 90_000,
        },
      },
    ],
  },
});
