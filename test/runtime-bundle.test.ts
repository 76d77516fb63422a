// The module loads as the Dagger runtime loads it: against the bundled SDK, which exports fewer names than
// the npm package tsc and vitest resolve (test/support/runtime-bundle.ts). Two guards, each shown to fail:
// a static rule over every file in dagger/src, and the entrypoint harness loading a planted violation.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import ts from "typescript"
import { afterAll, describe, expect, it } from "vitest"
import { callFunction, startEngineDouble } from "./support/engine-double.js"
import { sdkDir } from "./support/introspect.js"
import { bundleExportNames } from "./support/runtime-bundle.js"
import { repoRoot, toolsDir } from "./tools/paths.js"

const bundle = await bundleExportNames(sdkDir)

/** Value imports of `@dagger.io/dagger` that the runtime's bundle cannot satisfy, as "file: problem". */
export function bundleImportProblems(file: string, text: string): string[] {
  const problems: string[] = []
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS)
  const isSdk = (node: ts.Expression | undefined): boolean =>
    !!node && ts.isStringLiteral(node) && node.text === "@dagger.io/dagger"
  const missing = (name: string): void => {
    if (!bundle.has(name)) problems.push(`${file}: imports '${name}' from @dagger.io/dagger, which the runtime's bundled SDK does not export; every \`dagger call\` would fail at load (use \`import type\` or recognise the value by its fields)`)
  }
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && isSdk(node.moduleSpecifier) && node.importClause && !node.importClause.isTypeOnly) {
      const { name, namedBindings } = node.importClause
      if (name) problems.push(`${file}: default import from @dagger.io/dagger; the bundle has no default export`)
      if (namedBindings && ts.isNamespaceImport(namedBindings)) {
        problems.push(`${file}: \`import * as ${namedBindings.name.text}\` from @dagger.io/dagger hides which names it needs; import them by name`)
      }
      if (namedBindings && ts.isNamedImports(namedBindings)) {
        for (const el of namedBindings.elements) if (!el.isTypeOnly) missing((el.propertyName ?? el.name).text)
      }
    }
    if (ts.isExportDeclaration(node) && isSdk(node.moduleSpecifier) && !node.isTypeOnly) {
      if (!node.exportClause) problems.push(`${file}: \`export *\` from @dagger.io/dagger re-exports names the bundle may lack`)
      else if (ts.isNamedExports(node.exportClause)) {
        for (const el of node.exportClause.elements) if (!el.isTypeOnly) missing((el.propertyName ?? el.name).text)
      }
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && isSdk(node.arguments[0])) {
      problems.push(`${file}: dynamic import of @dagger.io/dagger; import the names statically so this rule can check them`)
    }
    ts.forEachChild(node, visit)
  }
  visit(sf)
  return problems
}

const srcDir = join(repoRoot, "dagger/src")
const sources = readdirSync(srcDir, { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".ts"))
  .map((f) => ({ file: f, text: readFileSync(join(srcDir, f), "utf8") }))

describe("dagger/src imports only what the runtime's bundled SDK exports", () => {
  it("every file of dagger/src passes the rule", () => {
    expect(sources.length).toBeGreaterThan(10)
    expect(sources.flatMap((s) => bundleImportProblems(s.file, s.text))).toEqual([])
  })

  it("the bundle's names are the library's eleven plus the generated client", () => {
    for (const n of ["connection", "connect", "Context", "func", "check", "generate", "argument", "object", "field", "enumType", "entrypoint"]) {
      expect(bundle.has(n), n).toBe(true)
    }
    for (const n of ["dag", "Container", "Directory", "Secret", "ReturnType", "CacheSharingMode"]) expect(bundle.has(n), n).toBe(true)
    for (const n of ["ExecError", "GraphQLRequestError", "DaggerSDKError", "up", "GraphQLClient"]) expect(bundle.has(n), n).toBe(false)
  })

  it("the rule refuses a planted value import of an error class, and allows type-only imports", () => {
    expect(bundleImportProblems("x.ts", `import { ExecError } from "@dagger.io/dagger"`).join()).toMatch(/'ExecError'.*does not export/)
    expect(bundleImportProblems("x.ts", `import { dag, GraphQLRequestError as G } from "@dagger.io/dagger"`)).toHaveLength(1)
    expect(bundleImportProblems("x.ts", `export { ExecError } from "@dagger.io/dagger"`)).toHaveLength(1)
    expect(bundleImportProblems("x.ts", `import * as d from "@dagger.io/dagger"`)).toHaveLength(1)
    expect(bundleImportProblems("x.ts", `const d = await import("@dagger.io/dagger")`)).toHaveLength(1)
    expect(bundleImportProblems("x.ts", `import type { ExecError } from "@dagger.io/dagger"`)).toEqual([])
    expect(bundleImportProblems("x.ts", `import { dag, type ExecError, func } from "@dagger.io/dagger"`)).toEqual([])
  })
})

describe("the entrypoint harness loads the module against the bundle", () => {
  // A copy of the real module with one planted import: the harness must fail exactly as the runtime did.
  // It sits inside the repository so the SDK's scanner resolves @dagger.io/dagger's types as for dagger/.
  mkdirSync(join(toolsDir, "tmp"), { recursive: true })
  const work = mkdtempSync(join(toolsDir, "tmp", "bundle-plant-"))
  afterAll(() => rmSync(work, { recursive: true, force: true }))

  function plantedModule(planted: string, name: string): { dir: string; name: string; root: string } {
    const root = mkdtempSync(join(work, "m-"))
    cpSync(join(repoRoot, "dagger", "src"), join(root, "src"), { recursive: true })
    cpSync(join(repoRoot, "dagger", "tsconfig.json"), join(root, "tsconfig.json"))
    cpSync(join(repoRoot, "dagger", "package.json"), join(root, "package.json"))
    symlinkSync(join(repoRoot, "dagger", "node_modules"), join(root, "node_modules"))
    const index = join(root, "src", "index.ts")
    writeFileSync(index, `${planted}\n${readFileSync(index, "utf8")}\nconsole.log(${name}.name)\n`)
    return { dir: join(root, "src"), name: "portfolio-pipeline", root: repoRoot }
  }

  async function construct(planted: string, name: string): Promise<unknown> {
    const double = await startEngineDouble()
    try {
      return await callFunction(double, { fn: "", module: plantedModule(planted, name), freshProcess: true })
    } finally {
      await double.close()
    }
  }

  it("a planted value import of ExecError fails the call with the runtime's SyntaxError", async () => {
    await expect(construct(`import { ExecError } from "@dagger.io/dagger"`, "ExecError")).rejects.toThrow(
      /SyntaxError: The requested module '@dagger.io\/dagger' does not provide an export named 'ExecError'/,
    )
  })

  it("the same copy with a name the bundle exports loads and constructs", async () => {
    await expect(construct(`import { ReturnType as Planted } from "@dagger.io/dagger"`, "Planted")).resolves.toBeDefined()
  })
})
