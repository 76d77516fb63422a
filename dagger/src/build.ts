// The app image and its test run, as Dagger stages mirroring app/Dockerfile (install → build → runtime).
// Layer order is what makes rebuilds cheap: package.json and the lockfile are copied and installed
// BEFORE any source file, so a code-only change reuses the install; npm's download cache is a cache
// volume shared by every install.
import { dag, type Container, type Directory } from "@dagger.io/dagger"

/** Cache volume for npm's download cache (~/.npm), shared by all installs. */
export const NPM_CACHE_VOLUME = "portfolio-npm-cache"
export const NPM_CACHE_DIR = "/root/.npm"
/** Where the app lives in the image (app/src/server.ts finds content/ and public/ next to dist/). */
export const APP_DIR = "/app"
/** Where the repository is mounted for the test run (the app's tests use the repo's test harness). */
export const REPO_DIR = "/repo"
/** The unprivileged user of the official node images. */
export const RUNTIME_USER = "node"

const NPM_CI = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]
/** What never goes into a build context: local installs and build output. */
const EXCLUDE = ["**/node_modules", "**/dist", ".git", ".tools", "**/.terraform", "**/*.tfstate*"]

export interface AppImageInput {
  /** The app/ directory. */
  app: Directory
  /** Pinned node base image (ci/pipeline.yaml images.node). */
  nodeImage: string
  /** Release baked in as APP_VERSION (served by /health). */
  version: string
  /** Git SHA baked in as APP_COMMIT (served by /health). */
  commit: string
  /** Port the app listens on (ci/pipeline.yaml app.port). */
  port: number
}

function node(nodeImage: string): Container {
  return dag.container().from(nodeImage).withMountedCache(NPM_CACHE_DIR, dag.cacheVolume(NPM_CACHE_VOLUME))
}

/** `npm ci` in `dir` with only the manifest and lockfile present (no sources yet). */
export function installDependencies(base: Container, manifests: Directory, dir: string, omitDev = false): Container {
  return base
    .withWorkdir(dir)
    .withFile(`${dir}/package.json`, manifests.file("package.json"))
    .withFile(`${dir}/package-lock.json`, manifests.file("package-lock.json"))
    .withExec(omitDev ? [...NPM_CI, "--omit=dev"] : NPM_CI)
}

/** Install all dependencies, then add the sources and compile (`npm run build` → dist/). */
export function appBuildStage(input: Pick<AppImageInput, "app" | "nodeImage">): Container {
  return installDependencies(node(input.nodeImage), input.app, APP_DIR)
    .withDirectory(APP_DIR, input.app, { exclude: EXCLUDE })
    .withExec(["npm", "run", "build"])
}

/**
 * The runtime image: production dependencies only, the compiled app, its content and static files,
 * version and commit baked in, non-root user. Returns a Container so callers can publish, export or scan it.
 */
export function appImage(input: AppImageInput): Container {
  const prod = installDependencies(node(input.nodeImage), input.app, APP_DIR, true)
  const built = appBuildStage(input)
  return dag
    .container()
    .from(input.nodeImage)
    .withWorkdir(APP_DIR)
    .withDirectory(APP_DIR, prod.directory(APP_DIR), { owner: "root" })
    .withDirectory(`${APP_DIR}/dist`, built.directory(`${APP_DIR}/dist`))
    .withDirectory(`${APP_DIR}/content`, input.app.directory("content"))
    .withDirectory(`${APP_DIR}/public`, input.app.directory("public"))
    .withEnvVariable("NODE_ENV", "production")
    .withEnvVariable("PORT", String(input.port))
    .withEnvVariable("APP_VERSION", input.version)
    .withEnvVariable("APP_COMMIT", input.commit)
    .withLabel("org.opencontainers.image.version", input.version)
    .withLabel("org.opencontainers.image.revision", input.commit)
    .withExposedPort(input.port)
    .withUser(RUNTIME_USER)
    .withEntrypoint(["node", "dist/main.js"])
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
}

/** The test command run in appTestStage. */
export const APP_TEST_COMMAND = ["npx", "vitest", "run", "app/test", "--reporter=default"]
