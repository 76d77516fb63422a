// Markdown building blocks of the run report: text that cannot turn into formatting, code spans and
// blocks that survive backticks in their content, links only for http(s). Every section of the report
// (render.ts, analysis.ts, diagnostics.ts) writes through these. Pure.

/** Text safe in a Markdown paragraph or table cell: one line, Markdown punctuation escaped. */
export function text(value: string, max = Infinity): string {
  const oneLine = value.replace(/\s*[\r\n]+\s*/g, " ").trim()
  const capped = oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine
  return capped.replace(/[\\`*_[\]<>|~#]/g, (c) => `\\${c}`)
}

/** An inline code span that survives backticks in the value and pipes inside tables. */
export function code(value: string, inTable = false): string {
  const oneLine = value.replace(/[\r\n]+/g, " ")
  const longestRun = Math.max(0, ...(oneLine.match(/`+/g) ?? []).map((r) => r.length))
  const fence = "`".repeat(longestRun + 1)
  const pad = oneLine.startsWith("`") || oneLine.endsWith("`") ? " " : ""
  const body = inTable ? oneLine.replace(/\|/g, "\\|") : oneLine
  return `${fence}${pad}${body}${pad}${fence}`
}

/**
 * A fenced code block holding `lines` verbatim: its fence is longer than any backtick run inside, so no
 * line can close it early and nothing inside is read as Markdown or HTML.
 */
export function codeBlock(lines: readonly string[], info = "text"): string[] {
  const longestRun = Math.max(0, ...lines.flatMap((l) => l.match(/`+/g) ?? []).map((r) => r.length))
  const fence = "`".repeat(Math.max(3, longestRun + 1))
  return [`${fence}${info}`, ...lines, fence]
}

/** A link when the URL is http(s), plain escaped text otherwise (never a javascript: link). */
export function link(label: string, url: string): string {
  if (!/^https?:\/\//.test(url)) return text(url)
  const target = url.replace(/[()\s<>]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`)
  return `[${text(label)}](${target})`
}
