// The signing port on Dagger: cosign (images.cosign, pinned by digest) runs exactly the argv of
// commands.ts. Every credential reaches the container as a secret: the private key and the id token as
// mounted secret files, the key's password as a secret variable, the registry login as a mounted
// docker config.json built here, in the module process, from the login the publish uses.
import { dag, type Container, type Directory } from "@dagger.io/dagger"
import type { AttestationInputs, SigningPlan, SigningPort } from "../../deploy/sign.js"
import { explainExecError } from "../../shared/tool-errors.js"
import type { RegistryLogin } from "../publish.js"
import {
  ATTESTATION_KINDS,
  ATTESTATIONS,
  attestArgs,
  CONTAINER_FILES,
  COSIGN_PASSWORD_ENV,
  DOCKER_CONFIG_DIR,
  signArgs,
  verifyArgs,
  verifyAttestationArgs,
  type AttestationKind,
  type RegistryScheme,
  type SignerIdentity,
} from "./commands.js"
import { mintIdToken } from "./oidc.js"
import { attestationPolicy } from "./policies.js"

/** The cosign image's user (ko images run as 65532); mounted secrets are given to it, root reads them too. */
const COSIGN_USER = "65532"

/** Set right before every cosign exec: signing and verifying are never answered from the cache. */
export const COSIGN_RUN_ENV = "PORTFOLIO_COSIGN_RUN"

/** A docker config.json holding one registry login (cosign reads DOCKER_CONFIG like docker does). */
export function dockerConfigJson(login: { host: string; username: string; password: string }): string {
  return JSON.stringify({ auths: { [login.host]: { auth: Buffer.from(`${login.username}:${login.password}`).toString("base64") } } })
}

export interface CosignPortInput {
  plan: SigningPlan
  /** images.cosign */
  image: string
  /** signing.registryScheme (https unless a local test registry). */
  registryScheme: RegistryScheme
  commit: string
  /** The registry login the publish uses (asked once, when the first cosign command needs it). */
  login: () => Promise<RegistryLogin>
  /** The repository checkout: the public key is read from it (signing.identity.publicKey). */
  source: Directory
  /** The run's secret values, scrubbed from every report: minted id tokens are added to it. */
  secretValues: string[]
  now: () => Date
}

/** The signing port: unsigned, or cosign with a key or keyless. */
export function cosignSigningPort(input: CosignPortInput): SigningPort {
  const { plan } = input
  if (plan.kind === "unsigned") {
    const refuse = async (): Promise<never> => {
      throw new Error(`nothing signs this run: ${plan.why}`)
    }
    return { identity: { unsigned: plan.why }, sign: refuse, verify: refuse }
  }
  const opts = { registryScheme: input.registryScheme }
  const signer: SignerIdentity = { kind: plan.kind }
  let base: Promise<Container> | undefined
  const container = () => (base ??= cosignContainer(input))
  let minted = 0

  // The signer's credentials on a container: the key and its password, or a freshly minted id token.
  const withSigner = async (c: Container, signal: AbortSignal): Promise<Container> => {
    if (plan.kind === "key") {
      const keyed = c.withMountedSecret(CONTAINER_FILES.key, plan.key, { owner: COSIGN_USER })
      // A key made without a password needs COSIGN_PASSWORD set and empty; an empty value is no secret.
      return plan.password ? keyed.withSecretVariable(COSIGN_PASSWORD_ENV, plan.password) : keyed.withEnvVariable(COSIGN_PASSWORD_ENV, "")
    }
    const token = await mintIdToken({ url: await plan.request.url.plaintext(), token: await plan.request.token.plaintext() }, signal)
    input.secretValues.push(token)
    const secret = dag.setSecret(`cosign-oidc-token-${++minted}`, token)
    return c.withMountedSecret(CONTAINER_FILES.identityToken, secret, { owner: COSIGN_USER })
  }

  const predicateFiles = (c: Container, attestations: AttestationInputs): Container =>
    c
      .withMountedFile(CONTAINER_FILES.predicates.sbom, attestations.sbom)
      .withNewFile(CONTAINER_FILES.predicates.scan, JSON.stringify(attestations.scan, null, 2))

  return {
    identity: { signer: plan.signer },
    async sign(image, attestations, signal) {
      if (!attestations) throw new Error(`the release of ${image} carries no SBOM and scan verdict to attest; nothing was signed`)
      const c = predicateFiles(await container(), attestations)
      await exec(await withSigner(c, signal), signArgs(image, signer, input.commit, opts), `cosign sign of ${image}`, signFix(plan), input, signal)
      const made: string[] = []
      for (const kind of ATTESTATION_KINDS) {
        const args = attestArgs(image, signer, kind, opts)
        await exec(await withSigner(c, signal), args, `cosign attest (${ATTESTATIONS[kind].label}) of ${image}`, signFix(plan), input, signal)
        made.push(ATTESTATIONS[kind].label)
      }
      return made
    },
    async verify(image, signal) {
      let c = await container()
      if (plan.kind === "key") c = c.withNewFile(CONTAINER_FILES.publicKey, await publicKey(input.source, plan.publicKeyPath))
      for (const kind of ATTESTATION_KINDS) c = c.withNewFile(CONTAINER_FILES.policies[kind], attestationPolicy(kind, input.commit))
      await exec(c, verifyArgs(image, plan.verifier, input.commit, opts), `cosign verify of ${image}`, verifyFix(plan), input, signal)
      for (const kind of ATTESTATION_KINDS) {
        await exec(c, verifyAttestationArgs(image, plan.verifier, kind, opts), `cosign verify-attestation (${ATTESTATIONS[kind].label}) of ${image}`, verifyFix(plan, kind), input, signal)
      }
      return `signature by ${plan.signer} and ${ATTESTATION_KINDS.map((k) => ATTESTATIONS[k].label).join(", ")} verified for commit ${input.commit.slice(0, 12)}`
    },
  }
}

async function cosignContainer(input: CosignPortInput): Promise<Container> {
  const login = await input.login()
  const config = dag.setSecret(
    `cosign-docker-config-${login.host}`,
    dockerConfigJson({ host: login.host, username: login.username, password: await login.password.plaintext() }),
  )
  return dag
    .container()
    .from(input.image)
    .withMountedSecret(`${DOCKER_CONFIG_DIR}/config.json`, config, { owner: COSIGN_USER })
    .withEnvVariable("DOCKER_CONFIG", DOCKER_CONFIG_DIR)
}

async function publicKey(source: Directory, path: string): Promise<string> {
  try {
    return await source.file(path).contents()
  } catch (err) {
    throw new Error(`the public key ${path} (signing.identity.publicKey) could not be read: ${(err as Error).message.split("\n")[0]}; commit it or fix the path`)
  }
}

/** Runs one cosign command; a failure names the command, cosign's exit code and its own words. */
async function exec(c: Container, args: string[], step: string, fix: string, input: CosignPortInput, signal: AbortSignal): Promise<string> {
  // A signature cannot be taken back once pushed: never start one for a cancelled step.
  signal.throwIfAborted()
  try {
    return await c.withEnvVariable(COSIGN_RUN_ENV, input.now().toISOString()).withExec(args).stdout()
  } catch (err) {
    explainExecError(err, step, fix)
  }
}

function signFix(plan: Exclude<SigningPlan, { kind: "unsigned" }>): string {
  return plan.kind === "key"
    ? "Check that --signing-password unlocks --signing-key and that the registry login may push signatures to the repository."
    : "Check that the job grants `id-token: write` and that Fulcio and Rekor are reachable; a re-run signs again."
}

function verifyFix(plan: Exclude<SigningPlan, { kind: "unsigned" }>, kind?: AttestationKind): string {
  const who = plan.kind === "key" ? `the private key of ${plan.publicKeyPath}` : `the identity ${plan.signer}`
  const what = kind === "scan" ? "a scan verdict PASS for this commit" : kind === "sbom" ? "a CycloneDX SBOM" : "a signature for this commit"
  const check =
    plan.kind === "key"
      ? `check that --signing-key is that key (\`cosign public-key --key <key>\` prints its public half)`
      : "check that the deploy ran from the workflow and branch signing.identity names"
  return `The image is not deployed: it must carry ${what} made by ${who}; ${check}. With nothing signed at all, the registry holds another image than the one this run signed.`
}
