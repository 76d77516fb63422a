// What the Dagger TypeScript runtime gives the module as `@dagger.io/dagger` (bundle mode: dagger/package.json
// has no `@dagger.io/dagger` dependency). The runtime's bundled SDK exports only these names plus everything
// in the generated client; the npm package the tests resolve exports more (error classes, `up`,
// GraphQLClient, telemetry helpers). A value import of one of those extras loads fine here and fails every
// real `dagger call` at load with a SyntaxError, so the harness reproduces the bundle:
// - `bundleShimSource()` is an ES module exporting exactly the bundle's names, implemented by the real
//   package; entrypoint-runner.ts resolves the module's `@dagger.io/dagger` to it.
// - `bundleExportNames()` is the same list, for the static rule over dagger/src (test/module-load.test.ts).
import { join } from "node:path"
import { pathToFileURL } from "node:url"

/** The SDK library names the runtime's bundle exports besides the generated client (see ../shared/design.md). */
export const BUNDLE_LIBRARY_EXPORTS = {
  "connect.js": ["connection", "connect"],
  "common/context.js": ["Context"],
  "module/decorators.js": ["func", "check", "generate", "argument", "object", "field", "enumType"],
  "module/entrypoint/entrypoint.js": ["entrypoint"],
} as const

function distUrl(sdkDir: string, file: string): string {
  return pathToFileURL(join(sdkDir, "dist", "src", file)).href
}

/** Source of an ES module that exports exactly the bundle's names, each from the real package at `sdkDir`. */
export function bundleShimSource(sdkDir: string): string {
  const lines = [`export * from ${JSON.stringify(distUrl(sdkDir, "api/client.gen.js"))}`]
  for (const [file, names] of Object.entries(BUNDLE_LIBRARY_EXPORTS)) {
    lines.push(`export { ${names.join(", ")} } from ${JSON.stringify(distUrl(sdkDir, file))}`)
  }
  return lines.join("\n")
}

/** Every name the bundle exports: the library names above and the generated client's exports. */
export async function bundleExportNames(sdkDir: string): Promise<Set<string>> {
  const client = (await import(distUrl(sdkDir, "api/client.gen.js"))) as Record<string, unknown>
  return new Set([...Object.keys(client), ...Object.values(BUNDLE_LIBRARY_EXPORTS).flat()])
}
