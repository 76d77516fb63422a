import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: {
    // The AWS SDK clients are runtime dependencies of the module (dagger/); tests that set up moto
    // fixtures use the very same copies instead of a second install at the root.
    alias: [
      {
        find: /^@aws-sdk\/(client-[a-z0-9-]+)$/,
        replacement: fileURLToPath(new URL("./dagger/node_modules/@aws-sdk/$1", import.meta.url)),
      },
    ],
  },
  test: {
    include: ["test/**/*.test.ts", "app/test/**/*.test.ts"],
    // Suites start real peers (moto, the app, fakes); give them room but never hide a hang.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
})
