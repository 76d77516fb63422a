// Every `dagger call` imports every file of dagger/src, and the TypeScript SDK's entrypoint re-scans
// them with the TypeScript compiler on every invocation. Two rules keep that cheap, checked here:
// 1. Cloud SDKs are loaded lazily (`await import(...)`, or `import type`), never at module top level.
// 2. They are named through dagger/package.json `imports` aliases (`#aws-sdk/client-ecs`), which the
//    SDK's scanner (Node10 resolution) cannot follow, so it never parses the SDKs' thousands of
//    declaration files; tsc (NodeNext) and Node resolve the aliases normally.
// bench/module-scan.ts measures the difference.
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { repoRoot } from "./tools/paths.js"

const srcDir = join(repoRoot, "dagger/src")
const sources = readdirSync(srcDir, { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".ts"))
  .map((f) => ({ file: f, text: readFileSync(join(srcDir, f), "utf8") }))

const pkg = JSON.parse(readFileSync(join(repoRoot, "dagger/package.json"), "utf8")) as {
  dependencies: Record<string, string>
  imports: Record<string, string>
}
const HEAVY = /^(@aws-sdk\/|@smithy\/|@google-cloud\/|google-auth-library$|google-gax$)/

/** Module specifiers in a source text, with how they are imported. */
function specifiers(text: string): { spec: string; kind: "static" | "type" | "dynamic" }[] {
  const out: { spec: string; kind: "static" | "type" | "dynamic" }[] = []
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^;'"]*?from\s+["']([^"']+)["']/gm)) {
    out.push({ spec: m[3]!, kind: m[2] ? "type" : "static" })
  }
  for (const m of text.matchAll(/^\s*import\s+["']([^"']+)["']/gm)) out.push({ spec: m[1]!, kind: "static" })
  for (const m of text.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)) out.push({ spec: m[1]!, kind: "dynamic" })
  return out
}

/** Problems with how one source file names and loads heavy SDKs. */
export function loadProblems(file: string, text: string): string[] {
  const problems: string[] = []
  for (const { spec, kind } of specifiers(text)) {
    const target = spec.startsWith("#") ? pkg.imports[spec] : spec
    if (spec.startsWith("#") && !target) problems.push(`${file}: alias ${spec} is not declared in dagger/package.json imports`)
    if (!target || !HEAVY.test(target)) continue
    if (!spec.startsWith("#")) {
      problems.push(`${file}: imports '${spec}' by package name; use the alias '#${spec.replace(/^@/, "")}' (dagger/package.json imports)`)
    }
    if (kind === "static") problems.push(`${file}: loads '${spec}' at module top level; use \`await import()\` inside the function that needs it`)
  }
  return problems
}

describe("dagger/src stays cheap to load and to scan", () => {
  it("names cloud SDKs only through package.json aliases, and loads them lazily", () => {
    expect(sources.flatMap((s) => loadProblems(s.file, s.text))).toEqual([])
  })

  it("every alias points at a declared runtime dependency", () => {
    for (const [alias, target] of Object.entries(pkg.imports)) {
      expect(pkg.dependencies, `${alias} → ${target}`).toHaveProperty([target])
    }
  })

  it("the rule catches a bare package import and a top-level SDK load", () => {
    expect(loadProblems("x.ts", `const m = await import("@aws-sdk/client-ecs")`).join()).toMatch(/alias '#aws-sdk\/client-ecs'/)
    expect(loadProblems("x.ts", `import { ECSClient } from "#aws-sdk/client-ecs"`).join()).toMatch(/top level/)
    expect(loadProblems("x.ts", `import type { ECSClient } from "#aws-sdk/client-ecs"`)).toEqual([])
    expect(loadProblems("x.ts", `const m = await import("#nope")`).join()).toMatch(/not declared/)
  })
})
