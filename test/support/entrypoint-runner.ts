// Child-process side of callFunction: runs the Dagger TypeScript SDK's real module entrypoint against the
// engine double, the way the runtime's generated `__dagger.entrypoint.ts` does — every .ts file of the
// module plus a `client.gen.ts` — once per invocation (constructor, then function) in one process.
// Started by engine-double.ts with tsx as loader; configured only through the HARNESS_* variables.
import { register } from "node:module"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { listModuleFiles } from "./introspect.js"

function required(name: string): string {
  const v = process.env[name]
  if (!v) throw new Error(`entrypoint-runner: ${name} is not set; this file is started by callFunction (test/support/engine-double.ts)`)
  return v
}

const moduleDir = required("HARNESS_MODULE_DIR")
const clientGen = required("HARNESS_CLIENT_GEN")
const sdkDir = required("HARNESS_SDK_DIR")
const invocations = Number(required("HARNESS_INVOCATIONS"))

const entrypointUrl = pathToFileURL(join(sdkDir, "dist", "src", "module", "entrypoint", "entrypoint.js")).href
const introspectorUrl = pathToFileURL(join(sdkDir, "dist", "src", "module", "introspector", "index.js")).href

// The entrypoint scans the module (a TypeScript program over it and every type it imports) on each
// invocation; the constructor and the function see the same files, so the second scan is memoised. Only
// the entrypoint's own import of the introspector is redirected; the scan itself is the SDK's.
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
const hooks = [
  "export async function resolve(specifier, context, next) {",
  `  if (specifier === "../introspector/index.js" && context.parentURL === ${JSON.stringify(entrypointUrl)}) {`,
  `    return { url: ${JSON.stringify(memoUrl)}, shortCircuit: true }`,
  "  }",
  "  return next(specifier, context)",
  "}",
].join("\n")
register(`data:text/javascript,${encodeURIComponent(hooks)}`)
const { entrypoint } = (await import(entrypointUrl)) as { entrypoint: (files: string[]) => Promise<void> }

const files = [...listModuleFiles(moduleDir), clientGen]
for (let i = 0; i < invocations; i++) {
  // On a returned error the entrypoint itself exits the process with code 1, like the real runtime.
  await entrypoint(files)
}
