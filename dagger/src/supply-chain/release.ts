// Build → (tests ∥ scan ∥ SBOM) → gate → push. One built image (synced once, so one id) is tested,
// exported as the tarball Trivy scans, and pushed: what was scanned is byte for byte what is published.
// Nothing is pushed unless the tests passed and the scan gate passed.
import { func, object, type Container, type Directory, type File } from "@dagger.io/dagger"
import { APP_TEST_COMMAND, appImage, appTestStage } from "./build.js"
import { localImageName, requireCommit, resolveVersion } from "./image-ref.js"
import { publishImage, type PublishTarget } from "./publish.js"
import { tarballDigest } from "./existing-tag.js"
import { Scan, ScanFailedError, scanImage } from "./scan/scan.js"
import { scanPolicy, type ScanPolicy } from "./scan/gate.js"
import { imageSbom, type SbomSubject } from "./sbom.js"
import { stepTimeoutMs, type Settings } from "../config/settings.js"
import { explainExecError } from "../shared/tool-errors.js"
import { stripTerminalCodes } from "../shared/terminal.js"
import { raceDeadline, StepTimeoutError } from "../shared/deadline.js"

/** Result of one step that may fail without stopping its siblings. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error }

async function settle<T>(p: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await p }
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err : new Error(String(err)) }
  }
}

/** Steps of a release with a time limit in ci/pipeline.yaml (timeouts.stepMinutes). */
export type ReleaseStep = "build" | "test" | "scan" | "publish"

/** Resolves like `work`, or rejects with StepTimeoutError (naming the setting to raise) after `ms`. */
export function withDeadline<T>(work: Promise<T>, ms: number, step: string, what: string): Promise<T> {
  const limit = ms >= 60_000 ? `${+(ms / 60_000).toFixed(1)} min` : `${ms / 1000} s`
  return raceDeadline(work, ms, () =>
    new StepTimeoutError(
      step,
      ms,
      `${what} did not finish within ${limit} (timeouts.stepMinutes.${step} in ci/pipeline.yaml). ` +
        "Raise the limit if the step is just slow, or look for a hung command.",
    ),
  )
}

function limit<T>(settings: Settings, step: ReleaseStep, what: string, work: Promise<T>): Promise<T> {
  return withDeadline(work, stepTimeoutMs(settings, step), step, what)
}

/** Where the accepted-findings file lives in the repository. */
export function ignoreFilePath(settings: Settings): string {
  return `ci/${settings.scan.ignoreFile}`
}

export interface ImageChecksInput {
  source: Directory
  settings: Settings
  /** Baked into the image as APP_VERSION / APP_COMMIT. */
  version: string
  commit: string
  /** Per-run overrides of the scan policy in ci/pipeline.yaml. */
  policy?: { severities?: string[]; ignoreUnfixed?: boolean }
  now: Date
  /** The commit's committer time (ISO 8601), the image's SOURCE_DATE_EPOCH; absent = build.ts's fixed epoch. */
  commitTime?: string
}

export interface ImageChecks {
  /** The built image, synced: every later use refers to this one image. */
  image: Container
  tarball: File
  version: string
  commit: string
  policy: ScanPolicy
  tests: Outcome<string>
  scan: Outcome<Scan>
  sbom: Outcome<{ file: File; subject: SbomSubject }>
}

/** Runs the app's tests; returns their output as plain text, or throws naming the failure. */
export async function runAppTests(source: Directory, nodeImage: string): Promise<string> {
  try {
    return stripTerminalCodes(await appTestStage({ source, nodeImage }).withExec(APP_TEST_COMMAND).stdout())
  } catch (err) {
    explainExecError(err, "The app's tests", "Run `npx vitest run app/test` locally to see the failing test.")
  }
}

/** Builds the image once, then runs tests, scan and SBOM side by side. Never throws for a failed step. */
export async function buildAndCheckImage(input: ImageChecksInput): Promise<ImageChecks> {
  const { settings, source } = input
  const policy = scanPolicy(settings.scan, input.policy)
  const ignorePath = ignoreFilePath(settings)
  const name = localImageName(settings.app.name, input.version)
  const label = `image ${name}`
  let image: Container
  try {
    image = await limit(settings, "build", `Build of ${label}`, appImage({ app: source.directory("app"), version: input.version, commit: input.commit, commitTime: input.commitTime }).sync())
  } catch (err) {
    explainExecError(err, `Build of ${label}`, "Run `npm ci && npm run build` in app/ locally to reproduce.")
  }
  const tarball = image.asTarball()
  const ignoreText = source.file(ignorePath).contents()
  const [tests, scan, sbom] = await Promise.all([
    settle(limit(settings, "test", "The app's tests", runAppTests(source, settings.images.node))),
    settle(
      limit(settings, "scan", `Trivy scan of ${label}`, ignoreText.then((text) =>
        scanImage({
          tarball,
          ignoreFile: { text, file: source.file(ignorePath), source: ignorePath },
          policy,
          trivyImage: settings.images.trivy,
          now: input.now,
          image: name,
          dbRepositories: settings.scan.dbRepositories,
        }),
      )),
    ),
    settle(limit(settings, "scan", `SBOM of ${label}`, imageSbom({ tarball, trivyImage: settings.images.trivy, image: name }))),
  ])
  return { image, tarball, version: input.version, commit: input.commit, policy, tests, scan, sbom }
}

/** A published image: digest references per registry, the scan that gated it and its SBOM. */
@object()
export class Release {
  /** The version baked in and used as the pushed tag. */
  @func()
  version: string = ""

  /** The git commit baked in. */
  @func()
  commit: string = ""

  /** Every published reference, pinned by digest (registry/repository@sha256:...). */
  @func()
  images: string[] = []

  /** The ECR reference with digest, or "" when not published to ECR. */
  @func()
  ecrImage: string = ""

  /** The Artifact Registry reference with digest, or "" when not published there. */
  @func()
  artifactRegistryImage: string = ""

  /** The image ID (config digest) the SBOM and the scan describe. */
  @func()
  imageId: string = ""

  /** The scan that gated this release (it passed). */
  @func()
  scan!: Scan

  /** CycloneDX SBOM of the published image, named after its image ID. */
  @func()
  sbom!: File
}

/** The Release object for pushed references. */
export function toRelease(fields: {
  version: string
  commit: string
  ecrImage: string
  artifactRegistryImage: string
  scan: Scan
  sbom: File
  imageId: string
}): Release {
  return Object.assign(new Release(), {
    ...fields,
    images: [fields.ecrImage, fields.artifactRegistryImage].filter((x) => x !== ""),
  })
}

/** Why a release stopped before publishing; the message says which gate and what it found. */
export class ReleaseBlockedError extends Error {
  override name = "ReleaseBlockedError"
}

/** The first failed gate of a checked image, as an error (tests, then scan, then SBOM); undefined if all passed. */
export function firstBlocker(checks: Pick<ImageChecks, "tests" | "scan" | "sbom">): Error | undefined {
  if (!checks.tests.ok) return new ReleaseBlockedError(`Tests failed; nothing was published.\n${checks.tests.error.message}`)
  if (!checks.scan.ok) return new ReleaseBlockedError(`Scan could not run; nothing was published.\n${checks.scan.error.message}`)
  if (!checks.scan.value.passed) return new ScanFailedError(checks.scan.value.summary, "Nothing was published.")
  if (!checks.sbom.ok) return new ReleaseBlockedError(`SBOM could not be generated; nothing was published.\n${checks.sbom.error.message}`)
  return undefined
}

export interface ReleaseInput {
  source: Directory
  settings: Settings
  commit: string
  version?: string
  /** Registry logins, resolved before the build so bad credentials fail in seconds, not after it. */
  targets: () => Promise<{ ecr?: PublishTarget; artifactRegistry?: PublishTarget }>
  policy?: { severities?: string[]; ignoreUnfixed?: boolean }
  now: Date
}

/** Builds, tests, scans and, only if all pass, pushes the one image to each target. */
export async function releaseImage(input: ReleaseInput): Promise<Release> {
  const commit = requireCommit(input.commit)
  const version = resolveVersion(commit, input.version)
  const targets = await input.targets()
  if (!targets.ecr && !targets.artifactRegistry) {
    throw new Error("no registry to publish to: pass AWS credentials (ECR) and/or GCP credentials (Artifact Registry)")
  }
  const checks = await buildAndCheckImage({ ...input, commit, version })
  const blocker = firstBlocker(checks)
  if (blocker) throw blocker
  const scan = (checks.scan as { ok: true; value: Scan }).value
  const sbom = (checks.sbom as { ok: true; value: { file: File; subject: SbomSubject } }).value
  // Sequential on purpose: the second push reuses the layers the engine compressed for the first.
  // The built digest is read from the tarball only when a tag is already taken, and then once.
  let built: Promise<string> | undefined
  const builtDigest = () => (built ??= tarballDigest(checks.tarball, input.settings.images.trivy))
  const push = async (t: PublishTarget) =>
    (await limit(input.settings, "publish", `Push to ${t.registry}`, publishImage(checks.image, t, version, builtDigest))).ref
  const ecrImage = targets.ecr ? await push(targets.ecr) : ""
  const artifactRegistryImage = targets.artifactRegistry ? await push(targets.artifactRegistry) : ""
  return toRelease({ version, commit, ecrImage, artifactRegistryImage, scan, sbom: sbom.file, imageId: sbom.subject.imageId })
}
