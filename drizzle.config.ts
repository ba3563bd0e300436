import { defineConfig } from "drizzle-kit";

// drizzle-kit only generates SQL here; migrations are embedded and applied at runtime (src/store/migrate.ts).
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/store/schema.ts",
  out: "./drizzle",
});
