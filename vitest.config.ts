import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "app/test/**/*.test.ts"],
    // Suites start real peers (moto, the app, fakes); give them room but never hide a hang.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
})
