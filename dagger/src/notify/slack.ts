// The Slack incoming-webhook message: a `text` fallback plus Block Kit blocks, cut to Slack's
// documented limits so a long failure detail can never make Slack reject the whole message. Pure.
import type { RunRecord } from "../report/run-record.js"
import { oneLine, truncate } from "../shared/text.js"
import { facts, summaryLine, VERDICT_TEXT } from "./message.js"

/** Slack's documented Block Kit limits this builder stays within. */
export const SLACK_LIMITS = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  contextElements: 10,
  /** Slack truncates `text` beyond 40,000 characters; 3,000 keeps notifications readable. */
  text: 3000,
} as const

/** Slack mrkdwn needs &, < and > escaped; everything else is literal enough for our values. */
function slackEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
}

export interface SlackPayload {
  text: string
  blocks: Record<string, unknown>[]
}

/** An incoming-webhook message: `text` (notification fallback) plus Block Kit `blocks`. */
export function slackPayload(run: RunRecord): SlackPayload {
  const f = facts(run)
  const field = (name: string, value: string) => ({
    type: "mrkdwn",
    text: truncate(`*${name}*\n${slackEscape(oneLine(value))}`, SLACK_LIMITS.fieldText),
  })
  const fields = [
    field("Environment", f.environment),
    field("Verdict", VERDICT_TEXT[run.verdict]),
    field("Commit", `\`${f.commit}\``),
    field("Version", f.version),
    field("Duration", f.duration),
  ]
  if (f.failingStep) fields.push(field("Failing step", f.failingStep))
  if (f.rollback) fields.push(field("Rollback", f.rollback))
  if (f.warnings > 0) fields.push(field("Warnings", `${f.warnings} (see the run report)`))

  const blocks: Record<string, unknown>[] = [
    { type: "header", text: { type: "plain_text", text: truncate(f.title, SLACK_LIMITS.headerText), emoji: true } },
    { type: "section", fields: fields.slice(0, SLACK_LIMITS.fields) },
  ]
  if (f.failingDetail) {
    blocks.push({
      type: "section",
      text: { type: "mrkdwn", text: truncate(`*Why*\n${slackEscape(oneLine(f.failingDetail))}`, SLACK_LIMITS.sectionText) },
    })
  }
  if (f.failingFigure) {
    blocks.push({
      type: "section",
      text: { type: "mrkdwn", text: truncate(`*Failing figure*\n${slackEscape(oneLine(f.failingFigure))}`, SLACK_LIMITS.sectionText) },
    })
  }
  if (f.diagnostics.length > 0) {
    const more = f.moreDiagnostics > 0 ? `\n_… ${f.moreDiagnostics} more in the run report_` : ""
    const list = f.diagnostics.map((d) => `• ${slackEscape(d)}`).join("\n")
    blocks.push({
      type: "section",
      // The count of the rest goes first into the budget, so a cut never hides that there is more.
      text: { type: "mrkdwn", text: `${truncate(`*Diagnostics*\n${list}`, SLACK_LIMITS.sectionText - more.length)}${more}` },
    })
  }
  if (f.image) {
    blocks.push({
      type: "section",
      text: { type: "mrkdwn", text: truncate(`*Image*\n\`${slackEscape(f.image)}\``, SLACK_LIMITS.sectionText) },
    })
  }
  if (f.links.length > 0) {
    blocks.push({
      type: "context",
      elements: [
        {
          type: "mrkdwn",
          // In <url|label> a `|` or `>` in the URL would end the link early.
          text: f.links.map((l) => `<${l.url.replace(/[|>]/g, encodeURIComponent)}|${l.label}>`).join(" · "),
        },
      ],
    })
  }
  return { text: truncate(summaryLine(run), SLACK_LIMITS.text), blocks }
}
