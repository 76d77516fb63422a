// Child-process side of callFunction: runs the Dagger TypeScript SDK's real module entrypoint against an
// engine double, the way the runtime's generated `__dagger.entrypoint.ts` does — every .ts file of the
// module plus a `client.gen.ts`. Started by engine-double.ts with tsx as loader; each IPC message
// `{ id, port, token, count }` runs the entrypoint `count` times (constructor, then function) against the
// double on that port and answers `{ id, ok }`.
import { register } from "node:module"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { listModuleFiles } from "./introspect.js"
import { bundleShimSource } from "./runtime-bundle.js"

function required(name: string): string {
  const v = process.env[name]
  if (!v) throw new Error(`entrypoint-runner: ${name} is not set; this file is started by callFunction (test/support/engine-double.ts)`)
  return v
}

interface Job {
  id: number
  port: number
  token: string
  count: number
}

const moduleDir = required("HARNESS_MODULE_DIR")
const clientGen = required("HARNESS_CLIENT_GEN")
const sdkDir = required("HARNESS_SDK_DIR")
if (!process.send) throw new Error("entrypoint-runner: no IPC channel; start it through callFunction")
const reply = process.send.bind(process)

const entrypointUrl = pathToFileURL(join(sdkDir, "dist", "src", "module", "entrypoint", "entrypoint.js")).href
const introspectorUrl = pathToFileURL(join(sdkDir, "dist", "src", "module", "introspector", "index.js")).href

// The entrypoint scans the module (a TypeScript program over it and every type it imports) on each
// invocation; the files do not change while the runner lives, so the scan is memoised. Only the
// entrypoint's own import of the introspector is redirected; the scan itself is the SDK's.
const memo = [
  `import { scan as sdkScan } from ${JSON.stringify(introspectorUrl)}`,
  "const results = new Map()",
  "export function scan(files, moduleName = '', loadModule = true) {",
  "  const key = JSON.stringify([files, moduleName, loadModule])",
  "  if (!results.has(key)) results.set(key, sdkScan(files, moduleName, loadModule))",
  "  return results.get(key)",
  "}",
].join("\n")
const memoUrl = `data:text/javascript,${encodeURIComponent(memo)}`
// The module's own files get `@dagger.io/dagger` as the runtime's bundle exports it (runtime-bundle.ts):
// a value import of a name the bundle lacks fails at load with the runtime's SyntaxError.
const bundleUrl = `data:text/javascript,${encodeURIComponent(bundleShimSource(sdkDir))}`
const moduleDirUrl = pathToFileURL(moduleDir).href + "/"
const hooks = [
  "export async function resolve(specifier, context, next) {",
  `  if (specifier === "@dagger.io/dagger" && context.parentURL?.startsWith(${JSON.stringify(moduleDirUrl)})) {`,
  `    return { url: ${JSON.stringify(bundleUrl)}, shortCircuit: true }`,
  "  }",
  `  if (specifier === "../introspector/index.js" && context.parentURL === ${JSON.stringify(entrypointUrl)}) {`,
  `    return { url: ${JSON.stringify(memoUrl)}, shortCircuit: true }`,
  "  }",
  "  return next(specifier, context)",
  "}",
].join("\n")

// Listen before loading anything: IPC messages that arrive without a listener are lost.
const loaded = (async () => {
  register(`data:text/javascript,${encodeURIComponent(hooks)}`)
  const mod = (await import(entrypointUrl)) as { entrypoint: (files: string[]) => Promise<void> }
  return { entrypoint: mod.entrypoint, files: [...listModuleFiles(moduleDir), clientGen] }
})()
let queue: Promise<unknown> = loaded.catch(() => undefined)

// Die with the parent (the IPC channel closes when it goes, even on SIGKILL).
process.on("disconnect", () => process.exit(0))

process.on("message", (job: Job) => {
  queue = queue.then(async () => {
    // The SDK reads the session from these on every connection().
    process.env["DAGGER_SESSION_PORT"] = String(job.port)
    process.env["DAGGER_SESSION_TOKEN"] = job.token
    try {
      const { entrypoint, files } = await loaded
      // On a returned error the entrypoint itself exits the process with code 1, like the real runtime.
      for (let i = 0; i < job.count; i++) await entrypoint(files)
      reply({ id: job.id, ok: true })
    } catch (e) {
      reply({ id: job.id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) })
    }
  })
})
