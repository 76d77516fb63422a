// CycloneDX SBOM of the image, from the same tarball that is scanned and published. It names the image
// it describes by name and version (Trivy would call it by the tarball's container path) and by image ID
// (the config digest, which the pushed manifest refers to), and the file name carries that ID so an SBOM
// cannot be mistaken for another image's.
import { dag, type File } from "@dagger.io/dagger"
import { z } from "#zod"
import { IMAGE_TARBALL_PATH, REPORT_DIR, trivyContainer } from "./scan/scan.js"
import { TRIVY_CACHE_DIR } from "./scan/repositories.js"
import { explainExecError } from "../shared/tool-errors.js"

/** Trivy arguments that write a CycloneDX JSON SBOM of the mounted image tarball (no vulnerability DB needed). */
export function trivySbomArgs(output: string): string[] {
  return [
    "trivy",
    "image",
    "--input",
    IMAGE_TARBALL_PATH,
    "--format",
    "cyclonedx",
    "--output",
    output,
    "--cache-dir",
    TRIVY_CACHE_DIR,
    "--no-progress",
    // CI runs must not phone home: no usage data, no version-check request.
    "--disable-telemetry",
    "--skip-version-check",
  ]
}

const cdx = z.object({
  bomFormat: z.literal("CycloneDX"),
  specVersion: z.string(),
  metadata: z.object({
    component: z.object({
      name: z.string(),
      type: z.string(),
      properties: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
    }),
  }),
  components: z.array(z.object({ name: z.string(), version: z.string().optional() })).optional(),
})

/** What an SBOM says it describes. */
export interface SbomSubject {
  /** sha256:... image ID, "" when the SBOM is not of an image. */
  imageId: string
  /** The subject's name (as Trivy writes it, for an image tarball: the path it read it from; see nameSbomSubject). */
  name: string
  specVersion: string
  componentCount: number
}

/** Reads the subject of a CycloneDX JSON SBOM written by Trivy. Throws on anything else. */
export function sbomSubject(text: string): SbomSubject {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    throw new Error(`SBOM is not valid JSON (${(err as Error).message}); expected Trivy's CycloneDX output`)
  }
  const parsed = cdx.safeParse(data)
  if (!parsed.success) {
    const first = parsed.error.issues[0]!
    throw new Error(`SBOM is not a CycloneDX document: ${first.path.map(String).join(".") || "(top level)"}: ${first.message}`)
  }
  const bom = parsed.data
  const imageId = bom.metadata.component.properties?.find((p) => p.name === "aquasecurity:trivy:ImageID")?.value ?? ""
  return {
    imageId,
    name: bom.metadata.component.name,
    specVersion: bom.specVersion,
    componentCount: bom.components?.length ?? 0,
  }
}

/**
 * The SBOM text with its subject (metadata.component.name) set to `name`; everything else as Trivy wrote it.
 * Trivy has no option for this: it names an `--input` image after the file path.
 */
export function nameSbomSubject(text: string, name: string): string {
  sbomSubject(text)
  const bom = JSON.parse(text) as { metadata: { component: { name: string } } }
  bom.metadata.component.name = name
  return JSON.stringify(bom, null, 2) + "\n"
}

/** File name for an image's SBOM: `sbom-<first 12 hex of the image ID>.cdx.json`. */
export function sbomFileName(imageId: string): string {
  const m = /^sha256:([a-f0-9]{12})[a-f0-9]{52}$/.exec(imageId)
  if (!m) throw new Error(`SBOM does not name an image ID (got '${imageId}'); was it generated from an image?`)
  return `sbom-${m[1]}.cdx.json`
}

/**
 * Generates the CycloneDX SBOM of an image tarball. Its subject is called `image` (e.g. portfolio:1.2.3,
 * see localImageName); the returned File is named after the image ID.
 */
export async function imageSbom(input: { tarball: File; trivyImage: string; image: string }): Promise<{ file: File; subject: SbomSubject }> {
  const out = `${REPORT_DIR}/sbom.cdx.json`
  const generated = trivyContainer(input.trivyImage)
    .withMountedFile(IMAGE_TARBALL_PATH, input.tarball)
    .withExec(trivySbomArgs(out))
    .file(out)
  let text: string
  try {
    text = await generated.contents()
  } catch (err) {
    explainExecError(err, `SBOM of image ${input.image}`, "Check the trivy output above; the SBOM needs no network access.")
  }
  const named = nameSbomSubject(text, input.image)
  const subject = sbomSubject(named)
  const fileName = sbomFileName(subject.imageId)
  return { file: dag.directory().withNewFile(fileName, named).file(fileName), subject }
}
