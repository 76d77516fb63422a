import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { ContentError, parsePortfolio, parsePortfolioText } from "../src/content.js"

const minimal = { name: "Ada", role: "Engineer", summary: "Builds things." }

function problemsOf(json: unknown): string[] {
  try {
    parsePortfolio(json)
  } catch (err) {
    if (err instanceof ContentError) return err.problems
    throw err
  }
  throw new Error("expected a ContentError")
}

describe("parsePortfolio", () => {
  it("accepts the shipped content/portfolio.json", () => {
    const text = readFileSync(new URL("../content/portfolio.json", import.meta.url), "utf8")
    const p = parsePortfolioText(text)
    expect(p.name.length).toBeGreaterThan(0)
    expect(p.projects.length).toBeGreaterThan(0)
    expect(p.links.every((l) => /^(https:|mailto:)/.test(l.url))).toBe(true)
  })

  it("fills optional lists with [] and trims text", () => {
    expect(parsePortfolio({ ...minimal, name: "  Ada  " })).toEqual({ name: "Ada", role: "Engineer", summary: "Builds things.", links: [], projects: [], skills: [] })
  })

  it("names every problem by its JSON path", () => {
    expect(problemsOf({
      name: "", summary: 3,
      links: [{ label: "Site", url: "javascript:alert(1)" }, "x"],
      projects: [{ name: "P", description: "D", tags: ["ok", ""] }, { description: "no name" }],
      skills: "TypeScript",
    })).toEqual([
      "$.name: expected a non-empty string, got ''",
      "$.role: expected a non-empty string, got nothing (the field is missing)",
      "$.summary: expected a non-empty string, got number 3",
      "$.links[0].url: expected an http(s):// or mailto: URL, got 'javascript:alert(1)'",
      "$.links[1]: expected an object, got 'x'",
      "$.projects[0].tags[1]: expected a non-empty string of at most 60 characters, got ''",
      "$.projects[1].name: expected a non-empty string, got nothing (the field is missing)",
      "$.skills: expected a list, got 'TypeScript'",
    ])
  })

  it("rejects URLs that could carry script or break out of an attribute", () => {
    for (const url of ["javascript:alert(1)", "data:text/html,hi", "https://x\" onmouseover=\"a", "//evil.example", "ftp://x"]) {
      expect(problemsOf({ ...minimal, links: [{ label: "L", url }] })[0], url).toContain("expected an http(s):// or mailto: URL")
    }
  })

  it("bounds lengths", () => {
    expect(problemsOf({ ...minimal, name: "x".repeat(101) })).toEqual(["$.name: at most 100 characters, got 101"])
  })

  it("turns a JSON syntax error into a ContentError naming the file and the fix", () => {
    expect(() => parsePortfolioText("{ name: 1 }", "content/portfolio.json")).toThrow(/^content\/portfolio\.json is not a valid portfolio:\n  - not valid JSON: .*\nFix the file/s)
  })

  it("rejects a top level that is not an object", () => {
    expect(problemsOf([minimal])).toEqual(["$: expected an object, got a list"])
  })
})
