// Child-process side of callFunction: runs the Dagger TypeScript SDK's real module entrypoint against the
// engine double, the way the runtime's generated `__dagger.entrypoint.ts` does — every .ts file of the
// module plus a `client.gen.ts` — once per invocation (constructor, then function) in one process.
// Started by engine-double.ts with tsx as loader; configured only through the HARNESS_* variables.
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
const { entrypoint } = (await import(entrypointUrl)) as { entrypoint: (files: string[]) => Promise<void> }

const files = [...listModuleFiles(moduleDir), clientGen]
for (let i = 0; i < invocations; i++) {
  // On a returned error the entrypoint itself exits the process with code 1, like the real runtime.
  await entrypoint(files)
}
