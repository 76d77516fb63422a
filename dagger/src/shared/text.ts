// Text helpers every capability uses for what it shows people: one line of an error, a cut that marks
// itself, durations. Pure.

/** Milliseconds between two ISO instants (0 when either is missing or unparsable). */
export function durationMs(startedAt: string | undefined, endedAt: string | undefined): number {
  if (!startedAt || !endedAt) return 0
  const d = Date.parse(endedAt) - Date.parse(startedAt)
  return Number.isFinite(d) && d > 0 ? d : 0
}

/**
 * First non-empty line of an error message (or of a text), cut at `max` when given. What is recorded stays
 * uncut: a cut made before secrets are scrubbed could leave a secret's prefix behind, so reports and
 * notifications cut only after redaction (report/render.ts, notify/).
 */
export function firstLine(err: unknown, max = Infinity): string {
  const text = err instanceof Error ? err.message : String(err)
  const line = text.split("\n").find((l) => l.trim() !== "") ?? text
  return line.length > max ? `${line.slice(0, max - 1)}…` : line
}

/** "850 ms", "12.3 s", "4 min 05 s", "1 h 02 min". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const totalSeconds = Math.round(ms / 1000)
  const minutes = Math.floor(totalSeconds / 60)
  if (minutes < 60) return `${minutes} min ${String(totalSeconds % 60).padStart(2, "0")} s`
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`
}

/** Cuts text to `max` UTF-16 code units (the unit Slack and Discord count), marking the cut. */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s
  let cut = s.slice(0, max - 1)
  // Never leave half a surrogate pair behind.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1)
  return `${cut}…`
}

/** Collapses line breaks (and the blanks around them) into single spaces. */
export function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, " ").trim()
}
