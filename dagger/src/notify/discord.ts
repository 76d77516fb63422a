// The Discord execute-webhook message: a short `content` line plus one embed, mentions disabled, cut to
// Discord's documented limits (including the 6,000-character total across embeds, which the failure
// detail gets whatever is left of). Pure.
import type { RunRecord, RunVerdict } from "../report/run-record.js"
import { oneLine, truncate } from "../shared/text.js"
import { facts, isWebUrl, summaryLine } from "./message.js"

/** Discord's documented message and embed limits this builder stays within. */
export const DISCORD_LIMITS = {
  content: 2000,
  embeds: 10,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  /** Sum of title, description, field names and values, footer and author across all embeds. */
  embedTotal: 6000,
} as const

/** Kept of the failing figure and of the diagnostics list, well within a field's 1,024 so the facts keep their room. */
const DISCORD_FIGURE_CHARS = 300
const DISCORD_DIAGNOSTICS_CHARS = 700

const DISCORD_COLOUR: Record<RunVerdict | "running", number> = {
  succeeded: 0x2da44e,
  failed: 0xcf222e,
  "rolled-back": 0xbf8700,
  running: 0x8c959f,
}

/** Backslash-escapes Discord markdown so a step name cannot turn into formatting or a mention. */
function discordEscape(s: string): string {
  return s.replace(/[\\*_~`|]/g, (c) => `\\${c}`).replace(/^([>#-])/, "\\$1")
}

export interface DiscordEmbed {
  title: string
  description?: string
  url?: string
  color: number
  fields: { name: string; value: string; inline?: boolean }[]
  timestamp?: string
  footer?: { text: string }
}

export interface DiscordPayload {
  content: string
  embeds: DiscordEmbed[]
  allowed_mentions: { parse: never[] }
}

/** An execute-webhook body: a short `content` line plus one embed; mentions disabled. */
export function discordPayload(run: RunRecord): DiscordPayload {
  const f = facts(run)
  const field = (name: string, value: string, inline = true) => ({
    name: truncate(name, DISCORD_LIMITS.fieldName),
    // Discord rejects an empty field value.
    value: truncate(oneLine(value) || "—", DISCORD_LIMITS.fieldValue),
    inline,
  })
  const fields = [
    field("Environment", f.environment),
    field("Commit", `\`${f.commit}\``),
    field("Version", discordEscape(f.version)),
    field("Duration", f.duration),
  ]
  if (f.failingStep) fields.push(field("Failing step", discordEscape(f.failingStep), false))
  if (f.rollback) fields.push(field("Rollback", discordEscape(f.rollback), false))
  if (f.image) fields.push(field("Image", `\`${f.image.replace(/`/g, "'")}\``, false))
  if (f.links.length > 0) fields.push(field("Links", f.links.map((l) => `[${l.label}](${l.url})`).join(" · "), false))
  if (f.warnings > 0) fields.push(field("Warnings", `${f.warnings} (see the run report)`))

  const footer = "portfolio deploy pipeline"
  const title = truncate(f.title, DISCORD_LIMITS.title)
  const size = () => title.length + footer.length + fields.reduce((n, x) => n + x.name.length + x.value.length, 0)
  // The analysis and diagnostics fields only take what the embed total leaves after the facts.
  const optional: { name: string; value: string }[] = []
  if (f.failingFigure) optional.push({ name: "Failing figure", value: truncate(discordEscape(oneLine(f.failingFigure)), DISCORD_FIGURE_CHARS) })
  if (f.diagnostics.length > 0) {
    const more = f.moreDiagnostics > 0 ? `\n… ${f.moreDiagnostics} more in the run report` : ""
    const list = truncate(f.diagnostics.map((d) => `• ${discordEscape(d)}`).join("\n"), DISCORD_DIAGNOSTICS_CHARS - more.length)
    optional.push({ name: "Diagnostics", value: `${list}${more}` })
  }
  // They are read right after the failing step and the rollback they explain.
  let at = fields.length
  fields.forEach((x, i) => {
    if (x.name === "Failing step" || x.name === "Rollback") at = i + 1
  })
  for (const o of optional) {
    if (fields.length < DISCORD_LIMITS.fields && size() + o.name.length + o.value.length <= DISCORD_LIMITS.embedTotal) {
      fields.splice(at++, 0, { name: o.name, value: o.value, inline: false })
    }
  }
  const used = size()
  const descriptionBudget = Math.min(DISCORD_LIMITS.description, DISCORD_LIMITS.embedTotal - used)
  const embed: DiscordEmbed = {
    title,
    color: DISCORD_COLOUR[run.verdict],
    fields: fields.slice(0, DISCORD_LIMITS.fields),
    footer: { text: footer },
  }
  if (f.failingDetail && descriptionBudget > 1) {
    embed.description = truncate(discordEscape(oneLine(f.failingDetail)), descriptionBudget)
  }
  if (isWebUrl(run.urls.run)) embed.url = run.urls.run
  if (run.endedAt) embed.timestamp = run.endedAt
  return {
    content: truncate(discordEscape(summaryLine(run)), DISCORD_LIMITS.content),
    embeds: [embed],
    allowed_mentions: { parse: [] },
  }
}
