import { describe, expect, it } from "vitest"
// zod is a runtime dependency of the module only (dagger/package.json), so it is imported from there.
import { z } from "../../dagger/node_modules/zod/index.js"
import { describeIssues, describeValue, parseYamlFile, problemListMessage, valueAt } from "../../dagger/src/config/yaml.js"

const schema = z.strictObject({
  name: z.string(),
  sizes: z.array(z.number().min(1)),
  nested: z.strictObject({ port: z.number() }),
})

function issuesOf(data: unknown): string[] {
  const result = schema.safeParse(data)
  if (result.success) throw new Error("expected the data to be invalid")
  return describeIssues(result.error, data)
}

describe("describeValue", () => {
  it("prints JSON, says nothing for an absent value and shortens long values to 60 characters", () => {
    expect(describeValue(undefined)).toBe("nothing")
    expect(describeValue(null)).toBe("null")
    expect(describeValue("x")).toBe('"x"')
    const long = describeValue("a".repeat(100))
    expect(long).toHaveLength(60)
    expect(long.endsWith("...")).toBe(true)
  })
})

describe("valueAt", () => {
  it("follows keys and array indices, and gives undefined where the path breaks off", () => {
    const data = { a: { b: [10, 20] } }
    expect(valueAt(data, ["a", "b", 1])).toBe(20)
    expect(valueAt(data, [])).toBe(data)
    expect(valueAt(data, ["a", "b", 1, "c"])).toBeUndefined()
    expect(valueAt(data, ["x", "y"])).toBeUndefined()
  })
})

describe("describeIssues", () => {
  it("names the dotted key, the rule and the value found", () => {
    const problems = issuesOf({ name: 7, sizes: [1, 0], nested: { port: "80" } })
    expect(problems).toHaveLength(3)
    expect(problems[0]).toMatch(/^name: .* \(got 7\)$/)
    expect(problems[1]).toMatch(/^sizes\.1: .* \(got 0\)$/)
    expect(problems[2]).toMatch(/^nested\.port: .* \(got "80"\)$/)
  })

  it("reports a missing key as got nothing and unknown keys with a spelling hint, at the top level without a key", () => {
    const problems = issuesOf({ name: "n", sizes: [], nested: { port: 1, prot: 2 }, extra: true })
    expect(problems).toContain("nested: unknown key(s) prot — check the spelling")
    expect(problems).toContain("unknown key(s) extra — check the spelling")
    expect(issuesOf({ sizes: [], nested: { port: 1 } })).toEqual([expect.stringMatching(/^name: .* \(got nothing\)$/)])
  })
})

describe("problemListMessage", () => {
  it("counts the problems, lists each on its own line and ends with the fix", () => {
    expect(problemListMessage("ci/x.yaml", ["a: bad"], "Fix it.")).toBe("ci/x.yaml is invalid (1 problem):\n  - a: bad\nFix it.")
    expect(problemListMessage("ci/x.yaml", ["a", "b"], "Fix it.")).toBe("ci/x.yaml is invalid (2 problems):\n  - a\n  - b\nFix it.")
  })
})

describe("parseYamlFile", () => {
  const validate = (data: object) => schema.safeParse(data)
  const problemsOf = (text: string): string[] => {
    try {
      parseYamlFile(text, validate, (problems) => Object.assign(new Error("invalid"), { problems }))
    } catch (err) {
      return (err as Error & { problems: string[] }).problems
    }
    throw new Error("expected the text to be refused")
  }

  it("returns the validated data", () => {
    expect(parseYamlFile("name: n\nsizes: [1, 2]\nnested: { port: 80 }\n", validate, () => new Error("unexpected"))).toEqual({
      name: "n",
      sizes: [1, 2],
      nested: { port: 80 },
    })
  })

  it("refuses broken YAML, a top level that is not a mapping, and schema issues, through the caller's error", () => {
    expect(problemsOf("name: [unclosed")).toEqual([expect.stringMatching(/^not valid YAML: /)])
    expect(problemsOf("- a\n- b")).toEqual(['expected a YAML mapping at the top level, got ["a","b"]'])
    expect(problemsOf("just text")).toEqual(['expected a YAML mapping at the top level, got "just text"'])
    expect(problemsOf("")).toEqual(["expected a YAML mapping at the top level, got null"])
    expect(problemsOf("name: n\nsizes: [0]\nnested: { port: 80 }\n")).toEqual([expect.stringMatching(/^sizes\.0: .* \(got 0\)$/)])
  })
})
