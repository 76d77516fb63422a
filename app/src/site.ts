// Everything the app serves, built once at start-up: the rendered page and the static files, each with
// its brotli and gzip variants and ETags computed up front. Requests are then a map lookup — no file
// system access per request, so no path traversal to defend against and no compression cost per hit.
import { createHash } from "node:crypto"
import { readdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import { brotliCompressSync, constants as zlib, gzipSync } from "node:zlib"
import { parsePortfolioText, type Portfolio } from "./content.js"
import { contentTypeFor, isCompressible, type Encoding } from "./http-rules.js"
import { renderErrorPage, renderPortfolioPage, type PageMeta } from "./page.js"

/** One stored encoding of a resource. */
export interface Variant {
  encoding: Encoding
  body: Buffer
  /** Strong ETag of this exact byte sequence (each encoding is its own representation). */
  etag: string
}

/** A resource ready to send: its variants (identity always present) and caching rule. */
export interface Resource {
  contentType: string
  cacheControl: string
  variants: Variant[]
}

export interface Site {
  /** Exact request paths to resources. */
  routes: ReadonlyMap<string, Resource>
  notFound: Resource
  methodNotAllowed: Resource
}

/** A file from public/ (name relative to it, e.g. "style.css"). */
export interface StaticFile {
  name: string
  body: Buffer
}

/** Hashed asset URLs never change content, so browsers and CDNs may keep them for a year. */
export const CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
/** Unhashed asset URLs (someone linked the plain name): short, so a deploy shows within minutes. */
export const CACHE_SHORT = "public, max-age=300"
/** The page names the hashed assets, so it must be revalidated every time (cheap: ETag → 304). */
export const CACHE_REVALIDATE = "no-cache"
export const CACHE_NONE = "no-store"

// Below this size compression saves less than the headers it costs.
const MIN_COMPRESS_BYTES = 256

function etagOf(body: Buffer, suffix: string): string {
  const hash = createHash("sha256").update(body).digest("base64url").slice(0, 22)
  return `"${hash}${suffix}"`
}

/** Builds a resource with the encodings that actually make it smaller. */
export function makeResource(body: Buffer, contentType: string, cacheControl: string): Resource {
  const variants: Variant[] = [{ encoding: "identity", body, etag: etagOf(body, "") }]
  if (isCompressible(contentType) && body.length >= MIN_COMPRESS_BYTES) {
    const br = brotliCompressSync(body, {
      params: {
        [zlib.BROTLI_PARAM_QUALITY]: zlib.BROTLI_MAX_QUALITY, // once per start, so spend the CPU
        [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT,
        [zlib.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    })
    const gz = gzipSync(body, { level: zlib.Z_BEST_COMPRESSION })
    if (br.length < body.length) variants.push({ encoding: "br", body: br, etag: etagOf(body, "-br") })
    if (gz.length < body.length) variants.push({ encoding: "gzip", body: gz, etag: etagOf(body, "-gz") })
  }
  return { contentType, cacheControl, variants }
}

/** "style.css" + content → "style.3b8f0a1c2d4e.css": the name changes whenever the bytes do. */
export function hashedName(name: string, body: Buffer): string {
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 12)
  const dot = name.lastIndexOf(".")
  return dot <= 0 ? `${name}.${hash}` : `${name.slice(0, dot)}.${hash}${name.slice(dot)}`
}

export interface SiteInput {
  portfolio: Portfolio
  files: readonly StaticFile[]
  version: string
  commit: string
}

/** Pure assembly of the site from content, files and build identity. */
export function buildSite({ portfolio, files, version, commit }: SiteInput): Site {
  const routes = new Map<string, Resource>()
  const hashedUrl = new Map<string, string>()
  for (const file of files) {
    const type = contentTypeFor(file.name)
    if (!type) continue // unknown types are not served rather than served as octet-stream
    const hashed = `/assets/${hashedName(file.name, file.body)}`
    routes.set(hashed, makeResource(file.body, type, CACHE_IMMUTABLE))
    routes.set(`/assets/${file.name}`, makeResource(file.body, type, CACHE_SHORT))
    hashedUrl.set(file.name, hashed)
  }
  const stylesheetHref = hashedUrl.get("style.css")
  if (!stylesheetHref) {
    throw new Error("public/style.css is missing: the page cannot be styled. Restore app/public/style.css.")
  }
  const iconHref = hashedUrl.get("favicon.svg")
  const meta: PageMeta = { version, commit, stylesheetHref, ...(iconHref ? { iconHref } : {}) }

  const html = "text/html; charset=utf-8"
  routes.set("/", makeResource(Buffer.from(renderPortfolioPage(portfolio, meta)), html, CACHE_REVALIDATE))
  const notFound = makeResource(
    Buffer.from(renderErrorPage(404, "Not found", "There is nothing at this address.", meta)), html, CACHE_NONE)
  const methodNotAllowed = makeResource(
    Buffer.from(renderErrorPage(405, "Method not allowed", "This site only answers GET and HEAD requests.", meta)),
    html, CACHE_NONE)
  return { routes, notFound, methodNotAllowed }
}

export interface SitePaths {
  /** The portfolio data file (content/portfolio.json). */
  contentFile: string
  /** Directory of static files served under /assets/ (public/). Subdirectories are not served. */
  publicDir: string
}

/** Reads content and static files from disk and builds the site. */
export async function loadSite(paths: SitePaths, identity: { version: string; commit: string }): Promise<Site> {
  const portfolio = parsePortfolioText(await readFile(paths.contentFile, "utf8"), paths.contentFile)
  const entries = await readdir(paths.publicDir, { withFileTypes: true })
  const files = await Promise.all(
    entries
      .filter((e) => e.isFile() && !e.name.startsWith("."))
      .map(async (e) => ({ name: e.name, body: await readFile(join(paths.publicDir, e.name)) })),
  )
  return buildSite({ portfolio, files, ...identity })
}
