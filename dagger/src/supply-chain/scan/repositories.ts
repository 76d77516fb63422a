// Where Trivy downloads what a scan needs: the vulnerability DB (image scans) and the checks bundle
// (`trivy config`), each from an ordered list of repositories in ci/pipeline.yaml (scan.dbRepositories,
// scan.checksBundleRepositories), kept in the Trivy cache volume once downloaded. When no repository
// answers, the scan did not happen: the step fails as "scanner unavailable", naming the repositories
// tried, and is never reported as a pass or as findings.
//
// What Trivy 0.69.3 (the pinned image) does, read in its source:
// - `--db-repository` takes a comma-separated list and moves down it only after a temporary error (rate
//   limit, 5xx); any other failure (DNS, TLS, 404) stops at that repository. It logs
//   `Downloading artifact...  repo="<ref>"` for each one it tries, and a failed download ends the run with
//   exit code 1 and `failed to download vulnerability DB` (pkg/commands/operation/operation.go).
// - `--checks-bundle-repository` takes one repository, and when the download fails Trivy logs
//   `Falling back to embedded checks` and scans on with the checks compiled into the binary
//   (pkg/commands/artifact/run.go), exit code 0. So the list is walked here, one run per repository.
import { tail } from "../../shared/tool-errors.js"

/** Cache volume holding Trivy's vulnerability DB and checks bundle, shared by every scan. */
export const TRIVY_CACHE_VOLUME = "portfolio-trivy-cache"
export const TRIVY_CACHE_DIR = "/root/.cache/trivy"

/** The repositories of ci/pipeline.yaml's scan section, each list in the order to try. */
export interface TrivyRepositories {
  /** Vulnerability DB (trivy-db) repositories, e.g. mirror.gcr.io/aquasec/trivy-db:2. */
  dbRepositories: readonly string[]
  /** Checks bundle (trivy-checks) repositories, e.g. mirror.gcr.io/aquasec/trivy-checks:2. */
  checksBundleRepositories: readonly string[]
}

/** Trivy's arguments that name the vulnerability DB repositories, in order. */
export function dbRepositoryArgs(repositories: readonly string[]): string[] {
  return ["--db-repository", repositories.join(",")]
}

/** Trivy's arguments that name the one checks-bundle repository of an attempt. */
export function checksBundleArgs(repository: string): string[] {
  return ["--checks-bundle-repository", repository]
}

const DB_DOWNLOAD_FAILED = "failed to download vulnerability DB"
const EMBEDDED_CHECKS_FALLBACK = "Falling back to embedded checks"
const DOWNLOADING = /Downloading artifact\.\.\.\s+repo="([^"]+)"/g

/** The repositories Trivy says it tried to download from, in order (from its log on stderr). */
export function triedRepositories(stderr: string): string[] {
  return [...new Set([...stderr.matchAll(DOWNLOADING)].map((m) => m[1]!))]
}

/** True when a failed image scan's stderr says the vulnerability DB could not be downloaded. */
export function isDbDownloadFailure(stderr: string): boolean {
  return stderr.includes(DB_DOWNLOAD_FAILED)
}

/** True when `trivy config` could not download the checks bundle and scanned with its embedded checks. */
export function usedEmbeddedChecks(stderr: string): boolean {
  return stderr.includes(EMBEDDED_CHECKS_FALLBACK)
}

/** A scan that could not run because Trivy could not download what it needs. Not a verdict either way. */
export class ScannerUnavailableError extends Error {
  override name = "ScannerUnavailableError"
  constructor(
    /** What could not be downloaded, e.g. "vulnerability DB". */
    readonly what: string,
    /** The repositories tried, in order. */
    readonly tried: readonly string[],
    message: string,
  ) {
    super(message)
  }
}

function unavailable(input: {
  what: string
  scan: string
  setting: string
  configured: readonly string[]
  tried: readonly string[]
  notTried: string
  stderr: string
}): ScannerUnavailableError {
  const untried = input.configured.filter((r) => !input.tried.includes(r))
  const output = tail(input.stderr)
  return new ScannerUnavailableError(
    input.what,
    input.tried,
    `scanner unavailable: ${input.scan} has no verdict: Trivy could not download its ${input.what} from ` +
      `${input.tried.length === 1 ? "the repository" : "any of the repositories"} tried: ${input.tried.join(", ") || "(none logged)"}` +
      `${untried.length > 0 ? `; not tried: ${untried.join(", ")} (${input.notTried})` : ""}.\n` +
      `${output ? output + "\n" : ""}` +
      `This is no verdict on the findings. Retry later, or put a repository this runner can reach first in ` +
      `${input.setting} in ci/pipeline.yaml; a download is kept in the '${TRIVY_CACHE_VOLUME}' cache volume.`,
  )
}

/** The error for an image scan whose vulnerability DB download failed (see isDbDownloadFailure). */
export function dbUnavailable(scan: string, configured: readonly string[], stderr: string): ScannerUnavailableError {
  const logged = triedRepositories(stderr)
  return unavailable({
    what: "vulnerability DB",
    scan,
    setting: "scan.dbRepositories",
    configured,
    tried: logged.length > 0 ? logged : configured,
    notTried: "Trivy moves on to the next repository only after a temporary error such as a rate limit",
    stderr,
  })
}

/** The error for `trivy config` when every checks-bundle repository failed (each attempt fell back). */
export function checksBundleUnavailable(scan: string, tried: readonly string[], lastStderr: string): ScannerUnavailableError {
  return unavailable({
    what: "checks bundle",
    scan,
    setting: "scan.checksBundleRepositories",
    configured: tried,
    tried,
    notTried: "",
    stderr: lastStderr,
  })
}
