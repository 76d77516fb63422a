// The portfolio's words live in content/portfolio.json so they can be edited without touching code.
// `parsePortfolio` is pure and reports every problem by JSON path; the app refuses to become ready with
// a broken file rather than serve half a page.
//
// Validation is hand-written on purpose: the schema is six fields, and keeping the runtime free of
// dependencies means the image ships no node_modules at all (nothing to scan, nothing to patch).

export interface Link {
  label: string
  url: string
}

export interface Project {
  name: string
  description: string
  url?: string
  tags: string[]
}

export interface Portfolio {
  name: string
  role: string
  summary: string
  location?: string
  links: Link[]
  projects: Project[]
  skills: string[]
}

/** Thrown by `parsePortfolio`; `problems` names each bad field by its JSON path. */
export class ContentError extends Error {
  constructor(readonly source: string, readonly problems: string[]) {
    super(`${source} is not a valid portfolio:\n  - ${problems.join("\n  - ")}\n` +
      `Fix the file (see app/README.md, "Editing the content") and restart.`)
    this.name = "ContentError"
  }
}

// Only schemes that cannot run script: a `javascript:` link in a data file would be stored XSS.
const SAFE_URL = /^(?:https?:\/\/[^\s"'<>]+|mailto:[^\s"'<>]+)$/i

class Reader {
  readonly problems: string[] = []

  record(value: unknown, path: string): Record<string, unknown> | undefined {
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>
    this.problems.push(`${path}: expected an object, got ${describe(value)}`)
    return undefined
  }

  text(obj: Record<string, unknown>, key: string, path: string, opts: { optional?: boolean; max?: number } = {}): string | undefined {
    const value = obj[key]
    if (value === undefined && opts.optional) return undefined
    const max = opts.max ?? 500
    if (typeof value !== "string" || value.trim() === "") {
      this.problems.push(`${path}.${key}: expected a non-empty string, got ${describe(value)}`)
      return undefined
    }
    if (value.length > max) {
      this.problems.push(`${path}.${key}: at most ${max} characters, got ${value.length}`)
      return undefined
    }
    return value.trim()
  }

  url(obj: Record<string, unknown>, key: string, path: string, optional = false): string | undefined {
    const value = this.text(obj, key, path, { optional, max: 2000 })
    if (value === undefined) return undefined
    if (!SAFE_URL.test(value)) {
      this.problems.push(`${path}.${key}: expected an http(s):// or mailto: URL, got '${value}'`)
      return undefined
    }
    return value
  }

  list<T>(obj: Record<string, unknown>, key: string, path: string, item: (v: unknown, p: string) => T | undefined): T[] {
    const value = obj[key]
    if (value === undefined) return []
    if (!Array.isArray(value)) {
      this.problems.push(`${path}.${key}: expected a list, got ${describe(value)}`)
      return []
    }
    const out: T[] = []
    value.forEach((v, i) => {
      const parsed = item(v, `${path}.${key}[${i}]`)
      if (parsed !== undefined) out.push(parsed)
    })
    return out
  }

  word(value: unknown, path: string): string | undefined {
    if (typeof value === "string" && value.trim() !== "" && value.length <= 60) return value.trim()
    this.problems.push(`${path}: expected a non-empty string of at most 60 characters, got ${describe(value)}`)
    return undefined
  }
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing (the field is missing)"
  if (value === null) return "null"
  if (Array.isArray(value)) return "a list"
  if (typeof value === "string") return `'${value.length > 40 ? value.slice(0, 40) + "…" : value}'`
  return `${typeof value} ${JSON.stringify(value)}`
}

/** Validates parsed JSON as a Portfolio. `source` names the file in error messages. */
export function parsePortfolio(json: unknown, source = "portfolio.json"): Portfolio {
  const r = new Reader()
  const root = r.record(json, "$")
  if (!root) throw new ContentError(source, r.problems)

  const name = r.text(root, "name", "$", { max: 100 })
  const role = r.text(root, "role", "$", { max: 120 })
  const summary = r.text(root, "summary", "$", { max: 1000 })
  const location = r.text(root, "location", "$", { optional: true, max: 100 })
  const links = r.list(root, "links", "$", (v, p) => {
    const o = r.record(v, p)
    if (!o) return undefined
    const label = r.text(o, "label", p, { max: 60 })
    const url = r.url(o, "url", p)
    return label !== undefined && url !== undefined ? { label, url } : undefined
  })
  const projects = r.list(root, "projects", "$", (v, p) => {
    const o = r.record(v, p)
    if (!o) return undefined
    const pname = r.text(o, "name", p, { max: 100 })
    const description = r.text(o, "description", p, { max: 600 })
    const url = r.url(o, "url", p, true)
    const tags = r.list(o, "tags", p, (t, tp) => r.word(t, tp))
    if (pname === undefined || description === undefined) return undefined
    return url === undefined ? { name: pname, description, tags } : { name: pname, description, url, tags }
  })
  const skills = r.list(root, "skills", "$", (v, p) => r.word(v, p))

  if (r.problems.length > 0 || name === undefined || role === undefined || summary === undefined) {
    throw new ContentError(source, r.problems)
  }
  return { name, role, summary, ...(location === undefined ? {} : { location }), links, projects, skills }
}

/** Parses the text of a portfolio file, turning a JSON syntax error into a ContentError too. */
export function parsePortfolioText(text: string, source = "portfolio.json"): Portfolio {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ContentError(source, [`not valid JSON: ${(err as Error).message}`])
  }
  return parsePortfolio(json, source)
}
