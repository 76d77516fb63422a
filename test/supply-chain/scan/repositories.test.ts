// Trivy's download repositories: the arguments, and recognising from Trivy 0.69.3's own stderr
// (test/fixtures/trivy/stderr/, see the README there) that the DB or the checks bundle could not be had.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { parseSettings } from "../../../dagger/src/config/settings.js"
import {
  ScannerUnavailableError,
  checksBundleArgs,
  checksBundleUnavailable,
  dbRepositoryArgs,
  dbUnavailable,
  isDbDownloadFailure,
  triedRepositories,
  usedEmbeddedChecks,
} from "../../../dagger/src/supply-chain/scan/repositories.js"
import { repoRoot } from "../../tools/paths.js"

const stderr = (name: string) => readFileSync(join(repoRoot, "test/fixtures/trivy/stderr", name), "utf8")
const settings = parseSettings(readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8"))
// The --db-repository lists the fixtures were recorded with (see the fixtures' README): two registries
// answering 429 (rate limited), and one refusing connections before a rate-limited one.
const RATE_LIMITED = ["127.0.0.1:5001/aquasec/trivy-db:2", "127.0.0.1:5002/aquasecurity/trivy-db:2"]
const UNREACHABLE_FIRST = ["127.0.0.1:5003/aquasec/trivy-db:2", "127.0.0.1:5001/aquasecurity/trivy-db:2"]

describe("Trivy's repository arguments", () => {
  it("passes the DB repositories as one comma-separated list, in order, and one checks bundle per run", () => {
    expect(dbRepositoryArgs(settings.scan.dbRepositories)).toEqual(["--db-repository", settings.scan.dbRepositories.join(",")])
    expect(checksBundleArgs("mirror.example:5000/trivy-checks:2")).toEqual(["--checks-bundle-repository", "mirror.example:5000/trivy-checks:2"])
  })

  it("the committed repositories carry the schema tags the pinned Trivy 0.69.3 reads (trivy-db 2, trivy-checks 2)", () => {
    expect(settings.images.trivy).toMatch(/^aquasec\/trivy:0\.69\.3@/)
    expect(settings.scan.dbRepositories.every((r) => /\/trivy-db:2$/.test(r))).toBe(true)
    expect(settings.scan.checksBundleRepositories.every((r) => /\/trivy-checks:2$/.test(r))).toBe(true)
  })
})

describe("a vulnerability DB that could not be downloaded", () => {
  it("is recognised in Trivy's stderr, with the repositories it tried in order", () => {
    expect(isDbDownloadFailure(stderr("db-rate-limited.txt"))).toBe(true)
    expect(triedRepositories(stderr("db-rate-limited.txt"))).toEqual(RATE_LIMITED)
    expect(isDbDownloadFailure(stderr("db-unreachable.txt"))).toBe(true)
    expect(triedRepositories(stderr("db-unreachable.txt"))).toEqual(UNREACHABLE_FIRST.slice(0, 1))
    // A successful run's log, and the checks-bundle fallback, are no DB failure.
    expect(isDbDownloadFailure(stderr("sbom-generated.txt"))).toBe(false)
    expect(isDbDownloadFailure(stderr("checks-bundle-fallback.txt"))).toBe(false)
  })

  it("becomes 'scanner unavailable' naming every repository tried after rate limits", () => {
    const err = dbUnavailable("The Trivy scan of image portfolio:1.2.3", RATE_LIMITED, stderr("db-rate-limited.txt"))
    expect(err).toBeInstanceOf(ScannerUnavailableError)
    expect(err.tried).toEqual(RATE_LIMITED)
    expect(err.message.split("\n")[0]).toBe(
      "scanner unavailable: The Trivy scan of image portfolio:1.2.3 has no verdict: Trivy could not download its vulnerability DB " +
        `from any of the repositories tried: ${RATE_LIMITED.join(", ")}.`,
    )
    expect(err.message).toContain("TOOMANYREQUESTS")
    expect(err.message).toContain("This is no verdict on the findings.")
    expect(err.message).toContain("scan.dbRepositories in ci/pipeline.yaml")
  })

  it("says which repositories Trivy never reached after a failure that is not temporary, and why", () => {
    const err = dbUnavailable("The Trivy scan of image portfolio:1.2.3", UNREACHABLE_FIRST, stderr("db-unreachable.txt"))
    expect(err.tried).toEqual(UNREACHABLE_FIRST.slice(0, 1))
    expect(err.message.split("\n")[0]).toBe(
      "scanner unavailable: The Trivy scan of image portfolio:1.2.3 has no verdict: Trivy could not download its vulnerability DB " +
        `from the repository tried: ${UNREACHABLE_FIRST[0]}; not tried: ${UNREACHABLE_FIRST[1]} ` +
        "(Trivy moves on to the next repository only after a temporary error such as a rate limit).",
    )
    expect(err.message).toContain("connection refused")
  })

  it("names the configured list when Trivy's log names none", () => {
    const err = dbUnavailable("The scan", ["a.example/db:2"], "FATAL failed to download vulnerability DB")
    expect(err.tried).toEqual(["a.example/db:2"])
    expect(err.message).toMatch(/from the repository tried: a\.example\/db:2\./)
  })
})

describe("a checks bundle that could not be downloaded", () => {
  it("is recognised by Trivy falling back to its embedded checks, and only then", () => {
    expect(usedEmbeddedChecks(stderr("checks-bundle-fallback.txt"))).toBe(true)
    expect(usedEmbeddedChecks(stderr("db-rate-limited.txt"))).toBe(false)
    expect(usedEmbeddedChecks(stderr("sbom-generated.txt"))).toBe(false)
  })

  it("becomes 'scanner unavailable' naming every repository tried", () => {
    const tried = settings.scan.checksBundleRepositories
    const err = checksBundleUnavailable("trivy config on terraform/", tried, stderr("checks-bundle-fallback.txt"))
    expect(err.message.split("\n")[0]).toBe(
      `scanner unavailable: trivy config on terraform/ has no verdict: Trivy could not download its checks bundle from any of the repositories tried: ${tried.join(", ")}.`,
    )
    expect(err.message).toContain("scan.checksBundleRepositories in ci/pipeline.yaml")
  })
})
