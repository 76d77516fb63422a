// The Slack message stays within Block Kit's documented limits for any run, checked by
// test/support/webhook-payload-limits.ts (whose checks are themselves shown to reject what Slack rejects).
import { describe, expect, it } from "vitest"
import { slackPayload } from "../../dagger/src/notify/slack.js"
import { slackProblems } from "../support/webhook-payload-limits.js"
import { hugeRun, succeededRun } from "./runs.js"

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
})
