// The engine-double answers of cosign's commands (the module runs them in images.cosign): sign and attest
// print nothing on stdout; verify prints the verified signatures' JSON and verify-attestation the DSSE
// envelopes, as cosign does; a refusal is an exec error with cosign's exit code and its own stderr.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { execArgs } from "./deploy-world.js"
import { repoRoot } from "../tools/paths.js"
import { execError, type LeafQuery } from "./engine-double.js"

/**
 * What real cosign v2.6.5 answers when a verification fails, by cause: the exit code and the stderr it
 * wrote in test/supply-chain/sign/cosign-real.test.ts (test/fixtures/cosign, kept equal to the binary there).
 */
export const COSIGN_REFUSALS = {
  /** `cosign verify` of a digest nothing signed (a tampered digest). */
  unsigned: { exitCode: 10, fixture: "tampered-digest-verify.stderr.txt" },
  /** `cosign verify --key` with another key's signature. */
  wrongKey: { exitCode: 12, fixture: "wrong-key-verify.stderr.txt" },
  /** `cosign verify -a commit=...` whose signature names another commit. */
  otherCommit: { exitCode: 12, fixture: "other-commit-verify.stderr.txt" },
  /** `cosign verify-attestation --type <scan verdict>` on an image with only the SBOM attested. */
  missingScan: { exitCode: 1, fixture: "missing-attestation.stderr.txt" },
  /** `cosign verify-attestation` of a scan verdict FAIL: the Rego policy refuses. */
  scanNotPass: { exitCode: 1, fixture: "scan-not-pass.stderr.txt" },
} as const

export type CosignRefusal = keyof typeof COSIGN_REFUSALS

/** stderr of a refused command, as cosign wrote it. */
export function cosignStderr(refusal: CosignRefusal): string {
  return readFileSync(join(repoRoot, "test/fixtures/cosign", COSIGN_REFUSALS[refusal].fixture), "utf8")
}

/**
 * Answers cosign's stdout leaves; undefined for everything else (the world script answers those).
 * `refuse` picks the command that fails: the first `verify`, or the `verify-attestation` whose --type matches.
 */
export function cosignScript(opts: { refuse?: { command: "verify" | "verify-attestation"; type?: string; refusal: CosignRefusal } } = {}) {
  return (q: LeafQuery): unknown => {
    if (q.list || q.leaf !== "stdout") return undefined
    const exec = [...q.chain].reverse().find((l) => l.field === "withExec")
    const args = ((exec?.args["args"] as string[] | undefined) ?? []).map(String)
    if (args[0] !== "cosign") return undefined
    const [, command] = args
    const ref = args.at(-1) ?? ""
    const refuse = opts.refuse
    if (refuse && refuse.command === command && (refuse.type === undefined || args[args.indexOf("--type") + 1] === refuse.type)) {
      return execError({ exitCode: COSIGN_REFUSALS[refuse.refusal].exitCode, stderr: cosignStderr(refuse.refusal), cmd: args })
    }
    const digest = ref.slice(ref.indexOf("@") + 1)
    if (command === "verify") {
      return JSON.stringify([{ critical: { identity: { "docker-reference": ref.slice(0, ref.indexOf("@")) }, image: { "docker-manifest-digest": digest }, type: "cosign container image signature" }, optional: null }]) + "\n"
    }
    if (command === "verify-attestation") {
      const type = args[args.indexOf("--type") + 1]
      const payload = Buffer.from(JSON.stringify({ _type: "https://in-toto.io/Statement/v0.1", predicateType: type, subject: [{ name: ref, digest: { sha256: digest.slice(7) } }], predicate: {} })).toString("base64")
      return JSON.stringify({ payloadType: "application/vnd.in-toto+json", payload, signatures: [{ keyid: "", sig: "MEUCIQ" }] }) + "\n"
    }
    return ""
  }
}
