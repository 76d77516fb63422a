import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { IgnoreFileError, checkIgnoreFile, expiredEntries, parseIgnoreFile, utcDate } from "../../../dagger/src/supply-chain/scan/ignore-file.js"
import { repoRoot } from "../../tools/paths.js"

const SRC = "ci/.trivyignore.yaml"

const FILE = `
vulnerabilities:
  - id: CVE-2024-0001
    statement: busybox wget is not reachable from the app; no fixed alpine package yet
    expired_at: 2026-03-01
    paths: ["usr/lib/**"]
  - id: CVE-2024-0002
    statement: dev-only dependency, not in the runtime image layer
    expired_at: 2026-06-30
misconfigurations:
  - id: AVD-AWS-0104
    statement: the ALB must reach the internet; egress is restricted by the task role instead
    expired_at: 2026-01-15
`

describe("parseIgnoreFile", () => {
  it("reads entries in Trivy's YAML ignore format, keeping where each one is", () => {
    const entries = parseIgnoreFile(FILE, SRC)
    expect(entries.map((e) => [e.where, e.id, e.expiresOn])).toEqual([
      ["vulnerabilities[0]", "CVE-2024-0001", "2026-03-01"],
      ["vulnerabilities[1]", "CVE-2024-0002", "2026-06-30"],
      ["misconfigurations[0]", "AVD-AWS-0104", "2026-01-15"],
    ])
    expect(entries[0]!.paths).toEqual(["usr/lib/**"])
  })

  it("treats an empty file as no accepted findings", () => {
    expect(parseIgnoreFile("", SRC)).toEqual([])
    expect(parseIgnoreFile("# nothing accepted\nvulnerabilities: []\n", SRC)).toEqual([])
  })

  it("requires a reason and an expiry on every entry, naming the entry", () => {
    const text = "vulnerabilities:\n  - id: CVE-1\n  - id: CVE-2\n    statement: short\n    expired_at: 2026-02-30\n"
    let err: unknown
    try {
      parseIgnoreFile(text, SRC)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(IgnoreFileError)
    const msg = (err as Error).message
    expect(msg).toContain("vulnerabilities[0].statement: is required")
    expect(msg).toContain("vulnerabilities[0].expired_at: is required")
    expect(msg).toContain("vulnerabilities[1].statement: must explain why")
    expect(msg).toContain("vulnerabilities[1].expired_at: must be a date written YYYY-MM-DD")
  })

  it("rejects unknown keys (a typo would silently ignore nothing)", () => {
    expect(() => parseIgnoreFile("vulnerabilites: []\n", SRC)).toThrow(/unknown key\(s\) vulnerabilites/)
    expect(() =>
      parseIgnoreFile("secrets:\n  - id: x\n    statement: long enough reason\n    expired_at: 2026-01-01\n    expires: 2027-01-01\n", SRC),
    ).toThrow(/secrets\[0\]: unknown key\(s\) expires/)
  })

  it("reports broken YAML as such", () => {
    expect(() => parseIgnoreFile("vulnerabilities: [", SRC)).toThrow(/ci\/.trivyignore.yaml: not valid YAML/)
  })
})

describe("expiry", () => {
  const entries = parseIgnoreFile(FILE, SRC)

  it("counts an entry as expired from its expiry day on, as Trivy does", () => {
    expect(expiredEntries(entries, "2026-01-14").map((e) => e.id)).toEqual([])
    expect(expiredEntries(entries, "2026-01-15").map((e) => e.id)).toEqual(["AVD-AWS-0104"])
    expect(expiredEntries(entries, "2026-03-02").map((e) => e.id)).toEqual(["CVE-2024-0001", "AVD-AWS-0104"])
  })

  it("fails the scan naming each expired entry, its reason and what to do", () => {
    expect(checkIgnoreFile(FILE, SRC, "2025-12-31")).toHaveLength(3)
    let err: unknown
    try {
      checkIgnoreFile(FILE, SRC, "2026-03-01")
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(IgnoreFileError)
    const msg = (err as Error).message
    expect(msg).toContain("entry vulnerabilities[0] (CVE-2024-0001) expired on 2026-03-01")
    expect(msg).toContain("entry misconfigurations[0] (AVD-AWS-0104) expired on 2026-01-15")
    expect(msg).not.toContain("CVE-2024-0002")
    expect(msg).toMatch(/set a new expired_at/)
  })

  it("uses the UTC calendar day", () => {
    expect(utcDate(new Date("2026-01-15T23:59:59-05:00"))).toBe("2026-01-16")
  })

  it("keeps the committed ci/.trivyignore.yaml valid", () => {
    const text = readFileSync(join(repoRoot, SRC), "utf8")
    expect(() => parseIgnoreFile(text, SRC)).not.toThrow()
  })
})
