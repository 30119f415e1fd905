// Prisma CLI configuration. `migrate deploy` runs offline through the JS engine
// with the pg driver adapter; the CLI needs @prisma/adapter-pg 7.x (aliased as
// @prisma/adapter-pg-cli) because 6.x fails on Postgres' `name` type here.
import { PrismaPg } from "@prisma/adapter-pg-cli";
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  engine: "js",
  experimental: { adapter: true },
  adapter: async () => {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is required to run Prisma migrations");
    return new PrismaPg({ connectionString: url });
  },
});
