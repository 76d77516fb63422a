// The world in which the module's cosign command lines run for real: a local OCI registry
// (oci-registry.ts), the pinned cosign (test/tools/setup.mjs), a key pair made for the run, and every file
// the module mounts (CONTAINER_FILES in dagger/src/supply-chain/sign/commands.ts) written at the same path
// under a temporary root: the key, the public key, the CycloneDX SBOM, the scan verdict and the Rego
// policies, all made by the module's own functions. Used by test/supply-chain/sign/cosign-real.test.ts and
// bench/sign.ts.
//
// Offline: cosign's verify commands fetch Sigstore's trusted root from TUF first, unless trusted material
// is named (cmd/cosign/cli/verify/verify.go). SIGSTORE_REKOR_PUBLIC_KEY names a key file, so no request
// leaves the machine; in key mode with --insecure-ignore-tlog cosign never reads it. Where the module runs,
// that fetch succeeds and key-mode verification ignores its result just the same.
import { execFile } from "node:child_process"
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import {
  ATTESTATION_KINDS,
  CONTAINER_FILES,
  type CosignFiles,
  type CosignOptions,
} from "../../dagger/src/supply-chain/sign/commands.js"
import { attestationPolicy } from "../../dagger/src/supply-chain/sign/policies.js"
import { scanVerdictPredicate } from "../../dagger/src/supply-chain/sign/scan-predicate.js"
import { gateReportText, scanPolicy } from "../../dagger/src/supply-chain/scan/gate.js"
import { repoRoot, toolPath } from "../tools/paths.js"
import { startOciRegistry, type OciRegistry } from "./oci-registry.js"

/** The commit every image of the world is signed, attested and verified for. */
export const WORLD_COMMIT = "4f1c2b9e8d7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e"

export interface CosignRun {
  code: number
  stdout: string
  stderr: string
  ms: number
}

export interface CosignWorld {
  registry: OciRegistry
  /** The temporary root the container paths sit under. */
  root: string
  /** The module's files at their container paths under `root`; predicates and policies for WORLD_COMMIT. */
  files: CosignFiles
  /** What commands.ts takes for this registry: plain HTTP on loopback. */
  opts: CosignOptions
  /** Runs one of the module's argv (argv[0] "cosign") with the built binary; resolves on any exit code. */
  cosign(argv: string[]): Promise<CosignRun>
  /** Like `cosign`, but rejects with cosign's stderr unless it exits 0. */
  mustRun(argv: string[]): Promise<CosignRun>
  /** A new encrypted key pair (the world's password) under `dir`: cosign.key and cosign.pub. */
  keyPair(dir: string): Promise<{ key: string; pub: string }>
  /** The scan-verdict predicate of a real Trivy report fixture, through the module's gate. */
  scanPredicate(trivyFixture: string, commit?: string): Promise<string>
  /** Writes a file, making its folder. */
  put(path: string, text: string): Promise<void>
  /** Stops the registry and removes the root. */
  close(): Promise<void>
}

const PASSWORD = "test-only password"

export async function startCosignWorld(): Promise<CosignWorld> {
  const root = await mkdtemp(join(tmpdir(), "cosign-world-"))
  const bin = toolPath("go", "cosign")
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: join(root, "home"),
    DOCKER_CONFIG: join(root, "docker"),
    COSIGN_PASSWORD: PASSWORD,
  }
  await mkdir(env.DOCKER_CONFIG!, { recursive: true })

  const cosign = (argv: string[]): Promise<CosignRun> => {
    if (argv[0] !== "cosign") throw new Error(`not a cosign command line: ${JSON.stringify(argv)}`)
    const t0 = performance.now()
    return new Promise((resolve) => {
      execFile(bin, argv.slice(1), { env, encoding: "utf8", timeout: 60_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0
        resolve({ code, stdout, stderr, ms: performance.now() - t0 })
      })
    })
  }
  const mustRun = async (argv: string[]): Promise<CosignRun> => {
    const r = await cosign(argv)
    if (r.code !== 0) throw new Error(`cosign ${argv[1]} exited ${r.code}:\n${r.stderr}`)
    return r
  }
  const put = async (path: string, text: string) => {
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, text)
  }
  const keyPair = async (dir: string) => {
    await mkdir(dir, { recursive: true })
    await mustRun(["cosign", "generate-key-pair", "--output-key-prefix", join(dir, "cosign")])
    return { key: join(dir, "cosign.key"), pub: join(dir, "cosign.pub") }
  }
  const scanPredicate = async (trivyFixture: string, commit = WORLD_COMMIT) => {
    const policy = scanPolicy({ severities: ["HIGH", "CRITICAL"], ignoreUnfixed: true })
    const gate = gateReportText(await readFile(join(repoRoot, "test/fixtures/trivy", trivyFixture), "utf8"), policy)
    return JSON.stringify(scanVerdictPredicate(gate, { commit, version: "1.4.0", scanner: "aquasec/trivy:0.69.3" }), null, 2)
  }

  let registry: OciRegistry | undefined
  try {
    const [reg, pair] = await Promise.all([startOciRegistry(), keyPair(join(root, "keys/signer"))])
    registry = reg
    const files: CosignFiles = {
      key: join(root, CONTAINER_FILES.key),
      publicKey: join(root, CONTAINER_FILES.publicKey),
      identityToken: join(root, CONTAINER_FILES.identityToken),
      predicates: { sbom: join(root, CONTAINER_FILES.predicates.sbom), scan: join(root, CONTAINER_FILES.predicates.scan) },
      policies: { sbom: join(root, CONTAINER_FILES.policies.sbom), scan: join(root, CONTAINER_FILES.policies.scan) },
    }
    for (const [from, to] of [[pair.key, files.key], [pair.pub, files.publicKey]] as const) {
      await mkdir(dirname(to), { recursive: true })
      await rename(from, to)
    }
    env.SIGSTORE_REKOR_PUBLIC_KEY = files.publicKey
    await put(files.predicates.sbom, await readFile(join(repoRoot, "test/fixtures/trivy/image-sbom.cdx.json"), "utf8"))
    await put(files.predicates.scan, await scanPredicate("image-clean.json"))
    for (const kind of ATTESTATION_KINDS) await put(files.policies[kind], attestationPolicy(kind, WORLD_COMMIT))

    return {
      registry,
      root,
      files,
      opts: { registryScheme: "http" },
      cosign,
      mustRun,
      keyPair,
      scanPredicate,
      put,
      close: async () => {
        await registry?.stop()
        await rm(root, { recursive: true, force: true })
      },
    }
  } catch (err) {
    await registry?.stop()
    await rm(root, { recursive: true, force: true })
    throw err
  }
}
