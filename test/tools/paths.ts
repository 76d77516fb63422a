// Where test/tools/setup.mjs puts the pinned test tools; tests resolve binaries through here.
import { existsSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
export const toolsDir = join(repoRoot, ".tools")

/** Absolute path of a tool installed by setup.mjs; throws with the fix if it is missing. */
export function toolPath(kind: "python" | "go", tool: string, bin = tool): string {
  const p = kind === "python" ? join(toolsDir, `venv-${tool}`, "bin", bin) : join(toolsDir, "bin", bin)
  if (!existsSync(p)) {
    throw new Error(`test tool '${tool}' is not installed at ${p}; run \`npm test\` (it runs test/tools/setup.mjs first)`)
  }
  return p
}

/**
 * The node binary of the Dagger TypeScript runtime's release (RUNTIME_NODE in setup.mjs), which the harness
 * runs the module's entrypoint on; throws with the fix if it is missing.
 */
export function runtimeNodePath(): string {
  const p = join(toolsDir, "runtime-node", "node_modules", `node-${process.platform}-${process.arch}`, "bin", "node")
  if (!existsSync(p)) {
    throw new Error(`the runtime's Node.js is not installed at ${p}; run \`npm test\` (it runs test/tools/setup.mjs first)`)
  }
  return p
}
