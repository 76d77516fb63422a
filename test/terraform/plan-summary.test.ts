// The pull-request rendering of a saved plan. Golden: each plan in test/fixtures/terraform-plans/<case>
// (the guard's cases) and test/fixtures/plan-summary/<case>/plan.json renders exactly as
// test/fixtures/plan-summary/<case>.md, against the repository's own ci/pricing.yaml.
import { existsSync, readFileSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { parsePricing } from "../../dagger/src/report/cost.js"
import { renderPlanSummary } from "../../dagger/src/terraform/plan-summary.js"
import { repoRoot } from "../tools/paths.js"

const pricing = parsePricing(readFileSync(join(repoRoot, "ci/pricing.yaml"), "utf8"))
const guardPlans = join(repoRoot, "test/fixtures/terraform-plans")
const ownPlans = join(repoRoot, "test/fixtures/plan-summary")
const cases = [
  ...readdirSync(guardPlans).map((name) => ({ name, plan: join(guardPlans, name, "plan.json") })),
  ...readdirSync(ownPlans, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => ({ name: e.name, plan: join(ownPlans, e.name, "plan.json") })),
]
const render = (plan: string, stack = "AWS") =>
  renderPlanSummary({ stack, dir: `terraform/${stack.toLowerCase()}`, planJson: JSON.parse(readFileSync(plan, "utf8")), pricing })

describe("renderPlanSummary (golden)", () => {
  it.each(cases)("$name", ({ name, plan }) => {
    const golden = join(ownPlans, `${name}.md`)
    expect(existsSync(golden), `${golden} is missing`).toBe(true)
    expect(render(plan)).toBe(readFileSync(golden, "utf8"))
  })

  it("marks what the destroy guard refuses in red and bold, and only that", () => {
    const refused = render(join(guardPlans, "state-bucket-and-service-deleted/plan.json"))
    expect(refused).toMatch(/❌ \*\*apply would refuse/)
    expect(refused).toMatch(/- ❌ \*\*`[^`]*aws_s3_bucket[^`]*` destroyed\*\*/)
    expect(render(join(guardPlans, "first-run-adopts-and-creates/plan.json"))).not.toContain("❌")
  })

  it("says the cost is unchanged only when no priced resource changes, and gives no invented figures", () => {
    const priced = render(join(ownPlans, "priced-changes/plan.json"))
    expect(priced).not.toContain("cost unchanged")
    expect(priced).toContain("cpu \"256\" → \"512\"")
    // The only figure is the load balancer's fixed hours: (0.0252 + 0.008 × 0.1) × 730.
    expect(priced.match(/\$[\d.]+\/month/g)).toEqual(["$18.98/month"])
    expect(render(join(ownPlans, "health-path-only/plan.json"))).toContain("cost unchanged by this plan")
  })
})
