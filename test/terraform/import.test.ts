// The pure adopt-or-create core: the planner driven by golden fixtures (one folder per case), the
// import-block renderer (parsed back with HashiCorp's HCL parser), and reading `terraform state list`.
import { readFileSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { parse } from "@cdktf/hcl2json"
import { describe, expect, it } from "vitest"
import {
  IMPORTS_FILE,
  ImportPlanError,
  entriesToProbe,
  parseStateList,
  planImports,
  renderImportBlocks,
  type ImportEntry,
  type ProbeResult,
} from "../../dagger/src/terraform/import.js"
import { repoRoot } from "../tools/paths.js"

const fixtures = join(repoRoot, "test/fixtures/plan-imports")

interface FixtureInput {
  description: string
  state: string[]
  manifest: ImportEntry[]
  probes: Record<string, ProbeResult>
}

const cases = readdirSync(fixtures).sort()

describe("planImports (golden cases in test/fixtures/plan-imports)", () => {
  it("has the cases the design needs", () => {
    expect(cases).toEqual(
      expect.arrayContaining(["fresh-account", "seed-leftovers", "second-run", "partly-managed", "probe-failed", "not-probed"]),
    )
  })

  it.each(cases)("%s", (name) => {
    const input = JSON.parse(readFileSync(join(fixtures, name, "input.json"), "utf8")) as FixtureInput
    const expected = JSON.parse(readFileSync(join(fixtures, name, "expected.json"), "utf8")) as
      | { error: string[] }
      | Record<string, unknown>
    const run = () => planImports(input.state, input.manifest, new Map(Object.entries(input.probes)))
    if ("error" in expected) {
      expect(run).toThrow(ImportPlanError)
      const message = (() => {
        try {
          run()
          return ""
        } catch (err) {
          return (err as Error).message
        }
      })()
      for (const part of expected.error as string[]) expect(message).toContain(part)
    } else {
      expect(run()).toEqual(expected)
    }
  })

  it("probes only what is not in state, so a second run makes no cloud call", () => {
    const input = JSON.parse(readFileSync(join(fixtures, "partly-managed", "input.json"), "utf8")) as FixtureInput
    expect(entriesToProbe(input.state, input.manifest).map((e) => e.address)).toEqual(Object.keys(input.probes))
    const second = JSON.parse(readFileSync(join(fixtures, "second-run", "input.json"), "utf8")) as FixtureInput
    expect(entriesToProbe(second.state, second.manifest)).toEqual([])
  })

  it("rejects a manifest that lists an address twice", () => {
    const e: ImportEntry = { address: "aws_s3_bucket.a", cloudId: "bucket a", probe: { kind: "s3-bucket", bucket: "a" } }
    expect(() => planImports([], [e, e], new Map())).toThrow(/lists aws_s3_bucket.a twice/)
  })
})

describe("renderImportBlocks", () => {
  it("renders nothing for no imports, so a second run writes no file", () => {
    expect(renderImportBlocks([])).toBeNull()
    expect(IMPORTS_FILE).toBe("imports.tf")
  })

  it("renders import blocks Terraform's parser reads back exactly, IDs taken literally", async () => {
    const imports = [
      { address: "module.network.aws_subnet.public[1]", importId: "subnet-0abc", cloudId: "subnet tagged Name=p-public-1" },
      { address: "module.service.aws_ecs_service.this", importId: "cluster/service", cloudId: "ECS service" },
      // Not a real ID: proves quotes and template sequences cannot change what Terraform imports.
      { address: "aws_s3_bucket.odd", importId: 'a"b${var.x}%{if}c', cloudId: "odd" },
    ]
    const text = renderImportBlocks(imports)!
    const parsed = (await parse(IMPORTS_FILE, text)) as { import: { to: string; id: string }[] }
    expect(parsed.import.map((b) => b.to)).toEqual(imports.map((i) => `\${${i.address}}`))
    // hcl2json keeps escapes as written; un-escaping them must give the ID back.
    expect(parsed.import.map((b) => b.id.replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{"))).toEqual(
      imports.map((i) => i.importId),
    )
    expect(text).toContain("# subnet tagged Name=p-public-1\nimport {\n  to = module.network.aws_subnet.public[1]\n")
  })
})

describe("parseStateList", () => {
  it("reads one address per line", () => {
    expect(
      parseStateList({ exitCode: 0, stdout: "module.a.aws_x.y\nmodule.b.aws_z.w[0]\n\n", stderr: "" }),
    ).toEqual(["module.a.aws_x.y", "module.b.aws_z.w[0]"])
  })

  it("treats 'no state yet' as nothing managed", () => {
    expect(parseStateList({ exitCode: 1, stdout: "", stderr: "No state file was found!\n\nState management commands require a state file." })).toEqual([])
  })

  it("fails with Terraform's words and the fix for any other error", () => {
    expect(() =>
      parseStateList({ exitCode: 1, stdout: "", stderr: "Error: error loading state: AccessDenied: Access Denied\n\tstatus code: 403" }),
    ).toThrow(/exited with code 1[\s\S]*AccessDenied[\s\S]*Check the backend settings/)
  })
})
