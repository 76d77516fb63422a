// Cache policies of the module's functions, read from the SDK's own introspection (what the engine
// registers) and from the functions' bodies. A warm `dagger call` costs ~1 s when the engine serves the
// function's cached result, and a full module start plus the work when it may not, so:
// - a function with side effects (deploy, apply, publish, stop/start, notify) is never cached;
// - every other function is cacheable across calls: "session" or "never" needs a reason in its doc
//   comment ("Never cached: ..." / "Cached per session: ...");
// - a function whose body reads the clock is "never" (its result depends on the moment); one whose
//   verdict depends on the date judges it at cacheWindowEnd() and is cached for DATED_RESULT_TTL, so a
//   cached result can never be served after the moment it was judged for.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import ts from "typescript"
import { afterAll, describe, expect, it } from "vitest"
import { DATED_RESULT_TTL, cacheWindowEnd } from "../../dagger/src/shared/cache-window.js"
import { introspectModule, toKebab, type ModuleTypedefs } from "../support/introspect.js"

/** Functions with side effects, by object and TypeScript name, and what the side effect is. */
const SIDE_EFFECTS: Record<string, string> = {
  "PortfolioPipeline.publish": "pushes images to ECR / Artifact Registry",
  "PortfolioPipeline.deployStaging": "deploys to AWS, notifies",
  "PortfolioPipeline.deployProduction": "deploys to GCP, scales AWS staging to 0, notifies",
  "PortfolioPipeline.deployPreview": "pushes an image, adds a Cloud Run revision behind the PR's tag",
  "PortfolioPipeline.removePreview": "removes the PR's tag and deletes its Cloud Run revisions",
  "PortfolioPipeline.stopAws": "scales the ECS service to 0",
  "PortfolioPipeline.startAws": "scales the ECS service up",
  "PortfolioPipeline.plan": "creates the state backend when it is missing",
  "PortfolioPipeline.apply": "terraform apply",
  "TerraformPlan.apply": "terraform apply",
}

// A function named like one of these acts on the world; it must be listed above (and so be "never").
const ACTING_NAME = /deploy|apply|publish|push|stop|start|scale|notify|rollback|release/i
const REASON = /Never cached: \S|Cached per session: \S/

interface FunctionFacts {
  /** "Object.method" */
  id: string
  cache: string
  description: string
  /** The method body as written. */
  body: string
}

/** Every registered function with its cache policy and body, found by class and method name in the scanned files. */
function functionFacts(typedefs: ModuleTypedefs): FunctionFacts[] {
  const bodies = new Map<string, string>()
  for (const file of typedefs.files) {
    const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true)
    source.forEachChild((node) => {
      if (!ts.isClassDeclaration(node) || !node.name) return
      for (const member of node.members) {
        if (ts.isMethodDeclaration(member) && member.body) bodies.set(`${node.name.text}.${member.name.getText(source)}`, member.body.getText(source))
      }
    })
  }
  return Object.entries(typedefs.objects).flatMap(([object, def]) =>
    Object.entries(def.methods).map(([method, fn]) => {
      const id = `${object}.${method}`
      const body = bodies.get(id)
      if (body === undefined) throw new Error(`no body found for ${id} in ${typedefs.files.length} scanned files`)
      return { id, cache: fn.cache ?? "default", description: fn.description, body }
    }),
  )
}

/** Every breach of the rules above, one line each, naming the function, its policy and the fix. */
function cachingProblems(facts: readonly FunctionFacts[], sideEffects: Record<string, string>): string[] {
  const out: string[] = []
  for (const f of facts) {
    const cli = toKebab(f.id.split(".")[1]!)
    const readsClock = /\bnew Date\(\s*\)|\bDate\.now\(/.test(f.body)
    const dated = /\bcacheWindowEnd\(/.test(f.body)
    if (Object.hasOwn(sideEffects, f.id)) {
      if (f.cache !== "never") out.push(`${f.id} (${cli}) has side effects (${sideEffects[f.id]}) but cache ${f.cache}; use @func({ cache: "never" })`)
      continue
    }
    if (ACTING_NAME.test(f.id.split(".")[1]!)) {
      out.push(`${f.id} (${cli}) is named like an action; list its side effect in SIDE_EFFECTS (and make it "never") or rename it`)
    }
    if ((f.cache === "never" || f.cache === "session") && !REASON.test(f.description)) {
      out.push(`${f.id} (${cli}) has no side effects but cache ${f.cache}; cache it, or say why in its doc comment ("Never cached: ..." / "Cached per session: ...")`)
    }
    if (readsClock && f.cache !== "never") {
      out.push(`${f.id} (${cli}) reads the clock but is cached (${f.cache}); judge the date at cacheWindowEnd() with cache DATED_RESULT_TTL, or make it "never"`)
    }
    if (dated && f.cache !== DATED_RESULT_TTL) {
      out.push(`${f.id} (${cli}) judges the date at cacheWindowEnd() but is cached ${f.cache}; use @func({ cache: DATED_RESULT_TTL })`)
    }
  }
  return out
}

/** A Go-style duration as the engine parses TTLs ("1h", "90m", "1h30m"), in milliseconds. */
function durationMs(ttl: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000 }
  const parts = [...ttl.matchAll(/(\d+)([hms])/g)]
  if (parts.map((p) => p[0]).join("") !== ttl) throw new Error(`'${ttl}' is not a duration such as 1h or 30m`)
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * units[unit!]!, 0)
}

describe("the module's cache policies", () => {
  it("never cache a function with side effects, and cache every other one unless its doc comment says why", async () => {
    const facts = functionFacts(await introspectModule())
    expect(facts.map((f) => f.id)).toEqual(expect.arrayContaining(Object.keys(SIDE_EFFECTS)))
    expect(cachingProblems(facts, SIDE_EFFECTS)).toEqual([])
  })

  it("cache check and scan across calls, for at most the window their date is judged at", async () => {
    const facts = functionFacts(await introspectModule())
    const policy = Object.fromEntries(facts.map((f) => [f.id, f.cache]))
    for (const fn of ["check", "scan"]) expect(policy[`PortfolioPipeline.${fn}`], fn).toBe(DATED_RESULT_TTL)
    const now = new Date("2031-05-06T23:30:00Z")
    expect(cacheWindowEnd(now).getTime() - now.getTime()).toBe(durationMs(DATED_RESULT_TTL))
    // Judged half an hour before midnight, an entry expiring the next day already counts as expired.
    expect(cacheWindowEnd(now).toISOString().slice(0, 10)).toBe("2031-05-07")
  })
})

describe("the caching rules fire on a bad module", () => {
  const dir = mkdtempSync(join(tmpdir(), "caching-bad-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it("name a cached deploy, an undocumented session function, a cached clock reader and a dated function with the default TTL", async () => {
    writeFileSync(
      join(dir, "index.ts"),
      [
        'import { func, object } from "@dagger.io/dagger"',
        'import { cacheWindowEnd } from "./window.js"',
        "/** Bad caching. */",
        "@object()",
        "export class BadCache {",
        "  /** Deploys. */",
        "  @func()",
        "  async deploy(): Promise<string> { return \"done\" }",
        "  /** Scales. */",
        "  @func()",
        "  async scaleUp(): Promise<string> { return \"up\" }",
        "  /** Lists. */",
        '  @func({ cache: "session" })',
        "  async list(): Promise<string> { return \"a\" }",
        "  /** Live state. Never cached: it reports the world as it is now. */",
        '  @func({ cache: "never" })',
        "  async live(): Promise<string> { return \"now\" }",
        "  /** Stamps. */",
        "  @func()",
        "  async stamp(): Promise<string> { return new Date().toISOString() }",
        "  /** Judges the date. */",
        '  @func({ cache: "7h" })',
        "  async judge(): Promise<string> { return cacheWindowEnd().toISOString() }",
        "}",
      ].join("\n"),
    )
    writeFileSync(join(dir, "window.ts"), "export function cacheWindowEnd(): Date { return new Date() }\n")
    const facts = functionFacts(await introspectModule({ dir, name: "bad-cache" }))
    expect(cachingProblems(facts, { "BadCache.deploy": "deploys" })).toEqual([
      'BadCache.deploy (deploy) has side effects (deploys) but cache default; use @func({ cache: "never" })',
      "BadCache.scaleUp (scale-up) is named like an action; list its side effect in SIDE_EFFECTS (and make it \"never\") or rename it",
      'BadCache.list (list) has no side effects but cache session; cache it, or say why in its doc comment ("Never cached: ..." / "Cached per session: ...")',
      "BadCache.stamp (stamp) reads the clock but is cached (default); judge the date at cacheWindowEnd() with cache DATED_RESULT_TTL, or make it \"never\"",
      "BadCache.judge (judge) judges the date at cacheWindowEnd() but is cached 7h; use @func({ cache: DATED_RESULT_TTL })",
    ])
  })
})
