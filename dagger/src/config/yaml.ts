// Reading a YAML config file with a zod schema, and turning what is wrong with it into a list of
// problems a person can act on: each names the key, the rule it broke and the value found. Shared by
// settings.ts and cost.ts so both files report mistakes the same way.
import { parse as parseYaml } from "#yaml"
import type { z } from "#zod"

/** A value as it appears in a problem line: JSON, shortened past 60 characters; `nothing` when absent. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing"
  const json = JSON.stringify(value)
  return json.length > 60 ? `${json.slice(0, 57)}...` : json
}

/** The value at a zod issue path in the data that was validated; undefined where the path breaks off. */
export function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = data
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined
    cur = (cur as Record<PropertyKey, unknown>)[key]
  }
  return cur
}

/**
 * One problem line per zod issue: `key.path: rule (got value)`; for unknown keys
 * `key.path: unknown key(s) a, b — check the spelling`, and for a key outside a record's closed set
 * `key.path: unknown key 'k' (<what the key schema says>) — check the spelling`. A custom issue whose
 * `params.valuesInMessage` is true compares several keys and names them and their values itself, so it
 * stands alone. `data` is what was validated.
 */
export function describeIssues(error: z.ZodError, data: unknown): string[] {
  return error.issues.map((issue) => {
    const key = issue.path.map(String).join(".") || "(top level)"
    if (issue.code === "unrecognized_keys") {
      return `${key === "(top level)" ? "" : key + ": "}unknown key(s) ${issue.keys.join(", ")} — check the spelling`
    }
    if (issue.code === "invalid_key") {
      const parent = issue.path.slice(0, -1).map(String).join(".") || "(top level)"
      const rule = issue.issues.map((i) => i.message).join("; ")
      return `${parent}: unknown key '${String(issue.path.at(-1))}' (${rule}) — check the spelling`
    }
    if (issue.code === "custom" && issue.params?.["valuesInMessage"] === true) return issue.message
    return `${key}: ${issue.message} (got ${describeValue(valueAt(data, issue.path))})`
  })
}

/** The message of an invalid-file error: the count, one `  - problem` line each, then how to fix it. */
export function problemListMessage(source: string, problems: readonly string[], fix: string): string {
  return (
    `${source} is invalid (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
    problems.map((p) => `  - ${p}`).join("\n") +
    `\n${fix}`
  )
}

/**
 * Parses YAML text and validates it with `validate` (a schema's safeParse). Broken YAML, a top level
 * that is not a mapping and every schema issue become problem lines; `invalid` turns them into the
 * error that is thrown.
 */
export function parseYamlFile<T>(
  text: string,
  validate: (data: object) => z.ZodSafeParseResult<T>,
  invalid: (problems: string[]) => Error,
): T {
  let data: unknown
  try {
    data = parseYaml(text)
  } catch (err) {
    throw invalid([`not valid YAML: ${(err as Error).message.split("\n")[0]}`])
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw invalid([`expected a YAML mapping at the top level, got ${describeValue(data)}`])
  }
  const result = validate(data)
  if (result.success) return result.data
  throw invalid(describeIssues(result.error, data))
}
