// The Slack message stays within Block Kit's documented limits for any run, checked by
// test/support/webhook-payload-limits.ts (whose checks are themselves shown to reject what Slack rejects).
import { describe, expect, it } from "vitest"
import { slackPayload } from "../../dagger/src/notify/slack.js"
import { slackProblems } from "../support/webhook-payload-limits.js"
import { diagnosedRun, hugeRun, succeededRun } from "./runs.js"

describe("the Slack payload stays within Slack's limits for any run", () => {
  it("Slack", () => {
    expect(slackProblems(slackPayload(hugeRun()))).toEqual([])
    expect(slackProblems(slackPayload(succeededRun()))).toEqual([])
  })

  it("the checks themselves reject what Slack rejects (they are not vacuous)", () => {
    expect(slackProblems({ blocks: [{ type: "header", text: { type: "plain_text", text: "h".repeat(151) } }] })).toEqual([
      "blocks[0].text.text has 151 characters (max 150)",
    ])
    expect(slackProblems({})).toEqual(["needs text or blocks"])
  })

  it("names the failing figure and the first diagnostics, saying how many more the report has", () => {
    const p = slackPayload(diagnosedRun())
    expect(slackProblems(p)).toEqual([])
    const texts = p.blocks.map((b) => (b.text as { text?: string } | undefined)?.text ?? "")
    expect(texts).toContain("*Failing figure*\ncanary 10%: error rate 5.0 % &gt; 1.0 % (10 of 200 requests failed)")
    const diagnostics = texts.find((t) => t.startsWith("*Diagnostics*"))!
    expect(diagnostics.split("\n")).toEqual([
      "*Diagnostics*",
      "• cloud-run: revision portfolio-00043-kex: Ready CONDITION_FAILED (HealthCheckContainerError)",
      expect.stringMatching(/^• health: /),
      "• terraform: google_cloud_run_v2_service.portfolio: Error 403",
      "_… 2 more in the run report_",
    ])
    expect(slackPayload(succeededRun()).blocks.map((b) => JSON.stringify(b))).not.toContainEqual(expect.stringContaining("Diagnostics"))
  })

  it("a huge run's diagnostics still say there are more", () => {
    const texts = slackPayload(hugeRun()).blocks.map((b) => (b.text as { text?: string } | undefined)?.text ?? "")
    const diagnostics = texts.find((t) => t.startsWith("*Diagnostics*"))!
    expect(diagnostics.length).toBeLessThanOrEqual(3000)
    expect(diagnostics.endsWith("_… 37 more in the run report_")).toBe(true)
  })
})
