// What signing adds to a release: the module's cosign command lines (dagger/src/supply-chain/sign/commands.ts,
// key mode) run for real against a local OCI registry — sign, attest the SBOM, attest the scan verdict,
// verify, verify-attestation of each — beside the time of pushing the image to the same registry.
//
// Not measured: the image build (it runs in Dagger's engine, which this machine does not have), the
// container start of each cosign exec in the engine (the module runs cosign in the pinned image, one exec
// per command), keyless signing (Fulcio and Rekor round trips; unreachable here), and network latency
// to a real registry, which multiplies with cosign's several round trips per command (manifest, blobs,
// the .sig and .att tags) more than with a push's few large uploads.
//
// Each run pushes a new image (one layer of --layer-mb random bytes, so the push cannot reuse a blob and
// gzip has real work), then runs the six commands on its digest in the module's order.
//
//   npm run bench:sign [-- --runs=5 --layer-mb=32]
import { randomBytes } from "node:crypto"
import { performance } from "node:perf_hooks"
import { parseArgs } from "node:util"
import {
  ATTESTATION_KINDS,
  attestArgs,
  signArgs,
  verifyArgs,
  verifyAttestationArgs,
} from "../dagger/src/supply-chain/sign/commands.js"
import { startCosignWorld, WORLD_COMMIT } from "../test/support/cosign-world.js"

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" }, "layer-mb": { type: "string", default: "32" } } })
const runs = Number(values.runs)
const layerMb = Number(values["layer-mb"])
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive whole number, got '${values.runs}'`)
if (!(layerMb >= 0)) throw new Error(`--layer-mb must be a number of megabytes ≥ 0, got '${values["layer-mb"]}'`)

const STEPS = ["push", "sign", "attest sbom", "attest scan", "verify", "verify-attestation sbom", "verify-attestation scan"] as const
type Step = (typeof STEPS)[number]

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`

const world = await startCosignWorld()
const key = { kind: "key" } as const
const opts = { ...world.opts, files: world.files }
const samples: Record<Step, number>[] = []
try {
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    const image = await world.registry.pushImage("portfolio", `bench-${i}`, { "srv/blob.bin": randomBytes(layerMb * 1024 * 1024) })
    const sample = { push: performance.now() - t0 } as Record<Step, number>
    sample.sign = (await world.mustRun(signArgs(image.ref, key, WORLD_COMMIT, opts))).ms
    for (const kind of ATTESTATION_KINDS) sample[`attest ${kind}`] = (await world.mustRun(attestArgs(image.ref, key, kind, opts))).ms
    sample.verify = (await world.mustRun(verifyArgs(image.ref, key, WORLD_COMMIT, opts))).ms
    for (const kind of ATTESTATION_KINDS) {
      sample[`verify-attestation ${kind}`] = (await world.mustRun(verifyAttestationArgs(image.ref, key, kind, opts))).ms
    }
    samples.push(sample)
    process.stderr.write(`run ${i + 1}/${runs}: ${STEPS.map((s) => `${s} ${fmt(sample[s])}`).join(", ")}\n`)
  }
} finally {
  await world.close()
}

const signing = samples.map((s) => s.sign + s["attest sbom"] + s["attest scan"])
const verifying = samples.map((s) => s.verify + s["verify-attestation sbom"] + s["verify-attestation scan"])
const push = samples.map((s) => s.push)
console.log(`\ncosign v2.6.5, key mode without transparency log, local registry; ${runs} runs, median (min–max)`)
for (const step of STEPS) {
  const xs = samples.map((s) => s[step])
  console.log(`  ${step.padEnd(26)} ${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`)
}
const total = samples.map((_, i) => signing[i]! + verifying[i]!)
console.log(`  ${"sign + attest ×2".padEnd(26)} ${fmt(median(signing))}`)
console.log(`  ${"verify + verify-att. ×2".padEnd(26)} ${fmt(median(verifying))}`)
console.log(`  ${"all six".padEnd(26)} ${fmt(median(total))}  beside the push of a ${layerMb} MB layer: ${fmt(median(push))} (×${(median(total) / median(push)).toFixed(1)})`)
