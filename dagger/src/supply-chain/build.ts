// The app image and the app's test run.
// The image is app/Dockerfile's `runtime` stage, built by the engine (one definition, so `dagger call
// build` and `docker build app` cannot drift). The Dockerfile copies package.json and the lockfile and
// runs `npm ci` before it copies any source, so a code-only change reuses the install layer.
// The test run is built here in Dagger stages with the same order: manifests, install (npm's cache in
// a cache volume), then sources.
import { dag, type Container, type Directory } from "@dagger.io/dagger"

/** Cache volume for npm's download cache (~/.npm), shared by all installs. */
export const NPM_CACHE_VOLUME = "portfolio-npm-cache"
export const NPM_CACHE_DIR = "/root/.npm"
/** Where the repository is mounted for the test run (the app's tests use the repo's test harness). */
export const REPO_DIR = "/repo"

/**
 * The system CA bundle of the node (alpine) images. Behind a proxy that intercepts TLS, the engine adds
 * the proxy's CA to this system store, which node ignores: every node process that downloads (npm ci
 * here and in app/Dockerfile) gets it as NODE_EXTRA_CA_CERTS, on top of node's own roots. Without the
 * file node only warns and keeps its own roots.
 */
export const SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
/** The variable that hands node SYSTEM_CA_BUNDLE (an ENV of the test containers, a build argument of app/Dockerfile). */
export const NODE_CA_VARIABLE = "NODE_EXTRA_CA_CERTS"

// --ignore-scripts: no dependency's install script runs (as in app/Dockerfile).
const NPM_CI = ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"]
/** What never goes into a build context: local installs and build output. */
const EXCLUDE = ["**/node_modules", "**/dist", ".git", ".tools", "**/.terraform", "**/*.tfstate*"]

export interface AppImageInput {
  /** The app/ directory (its Dockerfile is the build definition). */
  app: Directory
  /** Release baked in as APP_VERSION (served by /health). */
  version: string
  /** Git SHA baked in as APP_COMMIT (served by /health). */
  commit: string
  /** The commit's committer time (ISO 8601), as SOURCE_DATE_EPOCH; absent = FIXED_SOURCE_DATE_EPOCH. */
  commitTime?: string
}

/**
 * SOURCE_DATE_EPOCH when no commit time is given: a fixed instant (2000-01-01T00:00:00Z), not the clock,
 * so two builds of one commit never differ by it.
 */
export const FIXED_SOURCE_DATE_EPOCH = 946684800

/** SOURCE_DATE_EPOCH (seconds) of a commit time; throws naming the value when it is not a date. */
export function sourceDateEpoch(commitTime?: string): number {
  if (commitTime === undefined) return FIXED_SOURCE_DATE_EPOCH
  const ms = Date.parse(commitTime)
  if (Number.isNaN(ms)) {
    throw new Error(`commit time '${commitTime}' is not an ISO 8601 date; pass --commit-time=$(git log -1 --format=%cI)`)
  }
  return Math.floor(ms / 1000)
}

/** The Dockerfile stage that is the runtime image. */
export const RUNTIME_STAGE = "runtime"

function node(nodeImage: string): Container {
  return dag
    .container()
    .from(nodeImage)
    .withEnvVariable(NODE_CA_VARIABLE, SYSTEM_CA_BUNDLE)
    .withMountedCache(NPM_CACHE_DIR, dag.cacheVolume(NPM_CACHE_VOLUME))
}

/** `npm ci` in `dir` with only the manifest and lockfile present (no sources yet). */
export function installDependencies(base: Container, manifests: Directory, dir: string): Container {
  return base
    .withWorkdir(dir)
    .withFile(`${dir}/package.json`, manifests.file("package.json"))
    .withFile(`${dir}/package-lock.json`, manifests.file("package-lock.json"))
    .withExec(NPM_CI)
}

/**
 * The runtime image: app/Dockerfile's runtime stage with APP_VERSION / APP_COMMIT build arguments (and
 * the system CA bundle for its npm ci).
 * Returns a Container so callers can publish, export or scan it.
 */
export function appImage(input: AppImageInput): Container {
  return input.app.dockerBuild({
    target: RUNTIME_STAGE,
    buildArgs: [
      { name: "APP_VERSION", value: input.version },
      { name: "APP_COMMIT", value: input.commit },
      // BuildKit's Dockerfile frontend reads this build argument for the config's and history's created
      // times; file times inside layers are not clamped by Dagger 0.21 (see README "Reproducible images").
      { name: "SOURCE_DATE_EPOCH", value: String(sourceDateEpoch(input.commitTime)) },
      // The Dockerfile's default is the same; passed so the build's trust is visible here.
      { name: NODE_CA_VARIABLE, value: SYSTEM_CA_BUNDLE },
    ],
  })
}

/**
 * A container that runs the app's test suite (app/test, vitest) from the repository: the tests start
 * the real app through the repo's test harness, so the root and app dependencies are both installed
 * (manifests first, as above), then the sources are added.
 */
export function appTestStage(input: { source: Directory; nodeImage: string }): Container {
  const rootInstalled = installDependencies(node(input.nodeImage), input.source, REPO_DIR)
  const appInstalled = installDependencies(rootInstalled, input.source.directory("app"), `${REPO_DIR}/app`)
  return appInstalled
    .withDirectory(`${REPO_DIR}/app`, input.source.directory("app"), { exclude: EXCLUDE })
    .withDirectory(`${REPO_DIR}/test`, input.source.directory("test"), { exclude: EXCLUDE })
    .withFile(`${REPO_DIR}/tsconfig.json`, input.source.file("tsconfig.json"))
    .withFile(`${REPO_DIR}/vitest.config.ts`, input.source.file("vitest.config.ts"))
    .withWorkdir(REPO_DIR)
    // The output goes into reports, not a terminal: vitest colours it whenever TERM is set, pipe or not.
    .withEnvVariable("NO_COLOR", "1")
    .withEnvVariable("FORCE_COLOR", "0")
}

/** The test command run in appTestStage. */
export const APP_TEST_COMMAND = ["npx", "vitest", "run", "app/test", "--reporter=default"]
