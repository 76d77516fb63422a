// Trivy against the image TARBALL, before anything is pushed: the bytes scanned are the bytes published,
// and no mutable tag in a registry is ever scanned. The gate (scan-gate.ts) reads the JSON report.
import { dag, func, object, type Container, type File } from "@dagger.io/dagger"
import { gateScan, parseTrivyReport, renameArtifact, renderScanSummary, type ScanPolicy, type ScanVerdict } from "./gate.js"
import { checkIgnoreFile } from "./ignore-file.js"
import { EVERY_SEVERITY_ARG } from "./severity.js"
import { explainExecError, isExecError } from "../../shared/tool-errors.js"
import { shortImageId } from "../image-ref.js"
import { TRIVY_CACHE_DIR, TRIVY_CACHE_VOLUME, dbRepositoryArgs, dbUnavailable, isDbDownloadFailure } from "./repositories.js"

/** Where the image tarball is mounted in the Trivy container. */
export const IMAGE_TARBALL_PATH = "/scan/image.tar"
/** Where the accepted-findings file is mounted (Trivy reads YAML ignore files by extension). */
export const IGNORE_FILE_PATH = "/scan/trivyignore.yaml"
export const REPORT_DIR = "/scan/out"
/** Env var set right before each scan exec so a new run rescans against today's DB, never a cached result. */
export const CACHE_BUSTER_ENV = "PORTFOLIO_SCAN_CACHE_BUSTER"

/** Output formats a Scan can hand back. */
export enum ReportFormat {
  /** Trivy's JSON report (schema version 2): what the gate reads. */
  JSON = "JSON",
  /** SARIF 2.1.0 for GitHub code scanning. Lists every severity: Trivy's SARIF ignores --severity. */
  SARIF = "SARIF",
}

/**
 * Trivy arguments for the vulnerability + secret scan of an image tarball, downloading the DB from the
 * first of `dbRepositories` that answers (pure, for tests and review).
 */
export function trivyImageScanArgs(output: string, dbRepositories: readonly string[]): string[] {
  return [
    "trivy",
    "image",
    "--input",
    IMAGE_TARBALL_PATH,
    "--scanners",
    "vuln,secret",
    ...dbRepositoryArgs(dbRepositories),
    // All severities and no --ignore-unfixed: the report is complete and the gate applies the policy,
    // so the summary can show what was tolerated and why.
    "--severity",
    EVERY_SEVERITY_ARG,
    "--ignorefile",
    IGNORE_FILE_PATH,
    "--show-suppressed",
    "--format",
    "json",
    "--output",
    output,
    "--exit-code",
    "0",
    "--cache-dir",
    TRIVY_CACHE_DIR,
    "--no-progress",
    // CI runs must not phone home: no usage data, no version-check request.
    "--disable-telemetry",
    "--skip-version-check",
  ]
}

/** A container with the pinned Trivy image, its DB cache and the report directory. */
export function trivyContainer(trivyImage: string): Container {
  return dag
    .container()
    .from(trivyImage)
    .withMountedCache(TRIVY_CACHE_DIR, dag.cacheVolume(TRIVY_CACHE_VOLUME))
    .withExec(["mkdir", "-p", REPORT_DIR])
}

/**
 * Runs one gated Trivy scan: `mountTarget` adds what is scanned, the accepted-findings file is mounted,
 * and the cache-buster is set to `now` right before `args` run, so a new run rescans against today's DB
 * and checks bundle instead of reusing a cached result.
 */
export function runTrivyScan(input: {
  trivyImage: string
  ignoreFile: File
  now: Date
  mountTarget: (trivy: Container) => Container
  args: string[]
}): Container {
  return trivyContainer(input.trivyImage)
    .with(input.mountTarget)
    .withMountedFile(IGNORE_FILE_PATH, input.ignoreFile)
    .withEnvVariable(CACHE_BUSTER_ENV, input.now.toISOString())
    .withExec(input.args)
}

/** The outcome of a Trivy scan of an image, gated by the policy. */
@object()
export class Scan {
  /** True when no finding fails the policy. */
  @func()
  passed: boolean = false

  /** PASS or FAIL. */
  @func()
  verdict: string = "FAIL"

  /** Human summary: verdict, counts by severity, top findings with fixed versions. */
  @func()
  summary: string = ""

  /** Number of findings that fail the policy. */
  @func()
  blocking: number = 0

  /** The scanned image's ID (config digest, sha256:...), as Trivy reported it. */
  @func()
  imageId: string = ""

  /** Trivy's JSON report (schema version 2). */
  @func()
  json!: File

  /** SARIF report for GitHub code scanning (all severities). */
  @func()
  sarif!: File

  /**
   * The report in the given format.
   * @param format JSON (what the gate reads) or SARIF (for code scanning). Default: JSON.
   */
  @func()
  report(format: ReportFormat = ReportFormat.JSON): File {
    return format === ReportFormat.SARIF ? this.sarif : this.json
  }

  /**
   * Fails (non-zero exit) with the summary when the scan did not pass; returns the summary otherwise.
   * For CI: `dagger call scan --commit=$SHA enforce`.
   */
  @func()
  async enforce(): Promise<string> {
    if (!this.passed) throw new ScanFailedError(this.summary)
    return this.summary
  }
}

/** The Scan object for a gated report and its files. */
export function toScan(verdict: ScanVerdict, json: File, sarif: File): Scan {
  return Object.assign(new Scan(), {
    passed: verdict.passed,
    verdict: verdict.passed ? "PASS" : "FAIL",
    summary: renderScanSummary(verdict),
    blocking: verdict.blocking.length,
    imageId: verdict.imageId,
    json,
    sarif,
  })
}

/** A scan whose findings fail the policy; the message is the summary. */
export class ScanFailedError extends Error {
  override name = "ScanFailedError"
  /** @param consequence What the failure stopped, e.g. "Nothing was published." */
  constructor(
    readonly summary: string,
    consequence = "",
  ) {
    super(
      `${summary}\n${consequence ? consequence + " " : ""}Fix the blocking findings (upgrade the packages or base ` +
        "image), or accept a risk in ci/.trivyignore.yaml with a statement and an expiry date.",
    )
  }
}

export interface ScanInput {
  /** The image as an OCI tarball (Container.asTarball()). */
  tarball: File
  /** ci/.trivyignore.yaml: its text (checked here first) and the File mounted for Trivy. */
  ignoreFile: { text: string; file: File; source: string }
  policy: ScanPolicy
  trivyImage: string
  /** The run's clock: the cache-buster value and "today" for ignore-entry expiry. */
  now: Date
  /** The image's name for messages and the summary, e.g. "portfolio:abc1234" (see localImageName). */
  image: string
  /** Where the vulnerability DB comes from, in order (scan.dbRepositories). */
  dbRepositories: readonly string[]
}

/**
 * Scans an image tarball with Trivy and gates the JSON report. Fails before running Trivy when an
 * accepted-risk entry has expired. Returns the Scan whatever the verdict; callers that publish must
 * check `passed` first.
 */
export async function scanImage(input: ScanInput): Promise<Scan> {
  const label = `image ${input.image}`
  checkIgnoreFile(input.ignoreFile.text, input.ignoreFile.source, input.now.toISOString().slice(0, 10))
  const json = `${REPORT_DIR}/trivy.json`
  const sarif = `${REPORT_DIR}/trivy.sarif`
  const scanned = runTrivyScan({
    trivyImage: input.trivyImage,
    ignoreFile: input.ignoreFile.file,
    now: input.now,
    mountTarget: (trivy) => trivy.withMountedFile(IMAGE_TARBALL_PATH, input.tarball),
    args: trivyImageScanArgs(json, input.dbRepositories),
  })
    // SARIF is converted from the same JSON, so both describe one scan against one DB state.
    .withExec(["trivy", "convert", "--format", "sarif", "--output", sarif, json])
  let text: string
  try {
    text = await scanned.file(json).contents()
  } catch (err) {
    if (isExecError(err) && isDbDownloadFailure(err.stderr)) throw dbUnavailable(`The Trivy scan of ${label}`, input.dbRepositories, err.stderr)
    explainExecError(err, `Trivy scan of ${label}`, "Check the trivy output above.")
  }
  const report = parseTrivyReport(text, `Trivy JSON report for ${label}`)
  const imageId = report.Metadata?.ImageID
  const named = renameArtifact(report, imageId ? `${label} (ID ${shortImageId(imageId)})` : label, (target) =>
    target.startsWith(IMAGE_TARBALL_PATH) ? input.image + target.slice(IMAGE_TARBALL_PATH.length) : target,
  )
  return toScan(gateScan(named, input.policy), scanned.file(json), scanned.file(sarif))
}
