// The Discord message stays within Discord's documented limits for any run, checked by
// test/support/webhook-payload-limits.ts (whose checks are themselves shown to reject what Discord rejects).
import { describe, expect, it } from "vitest"
import { discordPayload } from "../../dagger/src/notify/discord.js"
import { discordProblems } from "../support/webhook-payload-limits.js"
import { diagnosedRun, hugeRun, succeededRun } from "./runs.js"

describe("the Discord payload stays within Discord's limits for any run", () => {
  it("Discord", () => {
    expect(discordProblems(discordPayload(hugeRun()))).toEqual([])
    expect(discordProblems(discordPayload(succeededRun()))).toEqual([])
  })

  it("the checks themselves reject what Discord rejects (they are not vacuous)", () => {
    const embed = { title: "t".repeat(257), fields: [{ name: "n", value: "" }] }
    expect(discordProblems({ embeds: [embed] })).toEqual([
      "embeds[0].title has 257 characters (max 256)",
      "embeds[0].fields[0].value is empty",
    ])
    expect(discordProblems({ content: "c".repeat(2001) })).toEqual(["content has 2001 characters (max 2000)"])
    expect(discordProblems({ embeds: Array.from({ length: 2 }, () => ({ description: "d".repeat(3500) })) })).toEqual([
      "embeds hold 7000 characters in total (max 6000)",
    ])
  })

  it("no half surrogate pair is left at a cut", () => {
    const detail = discordPayload(hugeRun()).embeds[0]!.description!
    expect(detail).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/)
  })

  it("names the failing figure and the first diagnostics in their own fields", () => {
    const p = discordPayload(diagnosedRun())
    expect(discordProblems(p)).toEqual([])
    const fields = Object.fromEntries(p.embeds[0]!.fields.map((f) => [f.name, f.value]))
    expect(fields["Failing figure"]).toBe("canary 10%: error rate 5.0 % > 1.0 % (10 of 200 requests failed)")
    expect(fields.Diagnostics!.split("\n")).toEqual([
      "• cloud-run: revision portfolio-00043-kex: Ready CONDITION\\_FAILED (HealthCheckContainerError)",
      expect.stringMatching(/^• health: /),
      "• terraform: google\\_cloud\\_run\\_v2\\_service.portfolio: Error 403",
      "… 2 more in the run report",
    ])
  })

  it("a huge run keeps its facts: the analysis and diagnostics fields only take what the embed total leaves", () => {
    const p = discordPayload(hugeRun())
    const names = p.embeds[0]!.fields.map((f) => f.name)
    expect(names).toEqual(expect.arrayContaining(["Environment", "Commit", "Version", "Failing step", "Rollback", "Image"]))
    const diagnostics = p.embeds[0]!.fields.find((f) => f.name === "Diagnostics")
    if (diagnostics) expect(diagnostics.value.endsWith("… 37 more in the run report")).toBe(true)
  })
})
