// The module's CLI surface, read by the Dagger TypeScript SDK's own introspector — the code the engine runs
// to register the module — so names, types, defaults and doc comments are exactly what `dagger call` shows.
//
// Why this shape:
// - The introspector lives under the package's dist/, which its `exports` map hides: it is imported by
//   absolute file URL.
// - It resolves core types (Directory, Secret...) only from a non-declaration file whose name ends in
//   `client.gen.ts`; a copy of the package's `client.gen.d.ts` works unchanged. The copy goes to a temp
//   dir keyed by SDK version (never into the repo) and is shared with the entrypoint runner.
// - A scan builds a TypeScript program over the module and the types it imports (the AWS SDK's are big):
//   1–2 s for a small module, far more for the real one. Results are cached per process, and on disk in
//   node_modules/.cache/dagger-harness keyed by a hash of every module file, the module's lockfile and the
//   SDK version, so parallel test workers and re-runs scan once. HARNESS_NO_CACHE=1 turns the disk cache off.
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, extname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
export const sdkDir = join(repoRoot, "node_modules", "@dagger.io", "dagger")

// ---------------------------------------------------------------------------------------------------
// Typedefs: the introspector's JSON, typed. Kinds are the SDK's TypeDefKind values.

export type TypeDefKind =
  | "STRING_KIND"
  | "INTEGER_KIND"
  | "FLOAT_KIND"
  | "BOOLEAN_KIND"
  | "VOID_KIND"
  | "OBJECT_KIND"
  | "ENUM_KIND"
  | "INTERFACE_KIND"
  | "SCALAR_KIND"
  | "LIST_KIND"

export interface TypeRef {
  kind: TypeDefKind
  /** Object, enum, interface or scalar name. */
  name?: string
  /** Element type of a list. */
  typeDef?: TypeRef
}

export interface ArgumentDef {
  name: string
  description: string
  deprecated?: string
  type: TypeRef
  isVariadic: boolean
  isNullable: boolean
  isOptional: boolean
  /** The TypeScript default as the SDK resolved it (enum defaults are the member's value). */
  defaultValue?: unknown
  defaultPath?: string
  defaultAddress?: string
  ignore?: string[]
}

export interface FunctionDef {
  name: string
  alias?: string
  description: string
  deprecated?: string
  /** `@func({ cache })`: "never", "session", a TTL such as "10m", or undefined (default policy). */
  cache?: string
  isCheck: boolean
  arguments: Record<string, ArgumentDef>
  returnType: TypeRef
}

export interface PropertyDef {
  name: string
  alias?: string
  description: string
  type: TypeRef
  /** Exposed with `@func()`: a field the CLI can read. */
  isExposed: boolean
}

export interface ObjectDef {
  name: string
  description: string
  deprecated?: string
  constructor?: { arguments: Record<string, ArgumentDef> }
  methods: Record<string, FunctionDef>
  properties: Record<string, PropertyDef>
}

export interface EnumValueDef {
  name: string
  value: string
  description: string
}

export interface EnumDef {
  name: string
  description: string
  values: Record<string, EnumValueDef>
}

export interface ModuleTypedefs {
  /** The module name as in dagger.json, e.g. "portfolio-pipeline". */
  moduleName: string
  /** The main object's name: PascalCase of moduleName. */
  name: string
  description: string
  objects: Record<string, ObjectDef>
  enums: Record<string, EnumDef>
  /** The files that were scanned (module sources only, without the client.gen copy). */
  files: string[]
}

export interface IntrospectOptions {
  /** Directory holding the module's .ts sources. Default: `<source of dagger.json>/src`. */
  dir?: string
  /** Module name (kebab or any case; the main class is its PascalCase). Default: dagger.json `name`. */
  name?: string
}

// ---------------------------------------------------------------------------------------------------

interface DaggerJson {
  name: string
  source?: string
}

/** dagger.json of the repository, checked just enough to fail with a clear message. */
export function readDaggerJson(): DaggerJson {
  const path = join(repoRoot, "dagger.json")
  const parsed: unknown = JSON.parse(readFileSync(path, "utf8"))
  if (typeof parsed !== "object" || parsed === null || typeof (parsed as DaggerJson).name !== "string") {
    throw new Error(`${path} has no string "name"; the harness needs it to find the module's main class`)
  }
  return parsed as DaggerJson
}

/** The module sources directory and name `dagger call` would use, unless overridden. */
export function resolveModule(opts: IntrospectOptions = {}): { dir: string; name: string } {
  if (opts.dir !== undefined && opts.name === undefined) {
    throw new Error(`introspectModule({ dir: "${opts.dir}" }) needs a name too: only the default module reads it from dagger.json`)
  }
  const daggerJson = opts.dir === undefined || opts.name === undefined ? readDaggerJson() : undefined
  const dir = resolve(opts.dir ?? join(repoRoot, daggerJson?.source ?? ".", "src"))
  const name = opts.name ?? daggerJson?.name ?? ""
  return { dir, name }
}

/** Every .ts/.mts file below dir, as the runtime's generated entrypoint lists them (node_modules skipped). */
export function listModuleFiles(dir: string): string[] {
  if (!existsSync(dir)) throw new Error(`module source directory ${dir} does not exist`)
  const out: string[] = []
  for (const entry of readdirSync(dir).sort()) {
    if (entry === "node_modules") continue
    const p = join(dir, entry)
    if (statSync(p).isDirectory()) out.push(...listModuleFiles(p))
    else if ([".ts", ".mts"].includes(extname(p))) out.push(p)
  }
  return out
}

function sdkVersion(): string {
  const pkg = JSON.parse(readFileSync(join(sdkDir, "package.json"), "utf8")) as { version: string }
  return pkg.version
}

/**
 * Path of a `client.gen.ts` copy of the SDK's `client.gen.d.ts` in the temp dir (created once per SDK
 * version; written via rename so parallel workers never see a half-written file).
 */
export function clientGenFile(): string {
  const dir = join(tmpdir(), `dagger-harness-sdk-${sdkVersion()}`)
  const target = join(dir, "client.gen.ts")
  const source = join(sdkDir, "dist", "src", "api", "client.gen.d.ts")
  if (!existsSync(source)) {
    throw new Error(`${source} is missing; run \`npm ci\` at the repository root to install @dagger.io/dagger`)
  }
  if (!existsSync(target) || statSync(target).size !== statSync(source).size) {
    mkdirSync(dir, { recursive: true })
    const temp = `${target}.${process.pid}.tmp`
    writeFileSync(temp, readFileSync(source))
    renameSync(temp, target)
  }
  return target
}

// Structural view of the introspector's live objects: only what toTypedefs reads beyond toJSON().
interface ScannedFunction {
  cache?: string
  isCheck?: boolean
}
interface ScannedObject {
  methods: Record<string, ScannedFunction>
}
interface ScanResult {
  objects: Record<string, ScannedObject>
}
type ScanFn = (files: string[], moduleName: string, loadModule: boolean) => Promise<ScanResult>

let scanFn: Promise<ScanFn> | undefined
function loadScan(): Promise<ScanFn> {
  scanFn ??= import(pathToFileURL(join(sdkDir, "dist", "src", "module", "introspector", "index.js")).href).then(
    (m: { scan: ScanFn }) => m.scan,
  )
  return scanFn
}

const cache = new Map<string, Promise<ModuleTypedefs>>()

/**
 * The module's typedefs as the SDK introspector sees them (cached per process and per dir+name).
 * Default: the repository's module (dagger.json). Fixtures: `introspectModule({ dir, name })`.
 */
export function introspectModule(opts: IntrospectOptions = {}): Promise<ModuleTypedefs> {
  const { dir, name } = resolveModule(opts)
  const key = `${dir}\0${name}`
  let result = cache.get(key)
  if (!result) {
    result = scanModule(dir, name)
    cache.set(key, result)
    // A failed scan must not stick: the next caller (after a fix in watch mode) scans again.
    result.catch(() => cache.delete(key))
  }
  return result
}

// A class without a constructor has no "constructor" key, and then `obj.constructor` would be Object's
// own constructor function: make the absence explicit (JSON drops it, so this runs after every parse).
function withExplicitConstructor(obj: ObjectDef): void {
  if (!Object.hasOwn(obj, "constructor")) obj.constructor = undefined
}

// Bump when the shape written to the disk cache changes.
const CACHE_FORMAT = 1

function cacheKey(dir: string, moduleName: string, files: string[]): string {
  const h = createHash("sha256")
  h.update(`${CACHE_FORMAT}\0${sdkVersion()}\0${moduleName}\0${dir}\0`)
  for (const f of files) h.update(`${f}\0`).update(readFileSync(f)).update("\0")
  // The module's dependencies contribute types (e.g. a return type from an SDK): their lockfile counts.
  const lock = join(dirname(dir), "package-lock.json")
  if (existsSync(lock)) h.update(readFileSync(lock))
  return h.digest("hex").slice(0, 32)
}

async function scanModule(dir: string, moduleName: string): Promise<ModuleTypedefs> {
  const files = listModuleFiles(dir)
  if (files.length === 0) throw new Error(`no .ts files in ${dir}: nothing to introspect`)
  const useDisk = process.env["HARNESS_NO_CACHE"] !== "1"
  const cacheFile = join(repoRoot, "node_modules", ".cache", "dagger-harness", `typedefs-${cacheKey(dir, moduleName, files)}.json`)
  if (useDisk && existsSync(cacheFile)) {
    const cached = JSON.parse(readFileSync(cacheFile, "utf8")) as ModuleTypedefs
    for (const obj of Object.values(cached.objects)) withExplicitConstructor(obj)
    return cached
  }
  const typedefs = await scanModuleUncached(dir, moduleName, files)
  if (useDisk) {
    mkdirSync(dirname(cacheFile), { recursive: true })
    const temp = `${cacheFile}.${process.pid}.tmp`
    writeFileSync(temp, JSON.stringify(typedefs))
    renameSync(temp, cacheFile)
  }
  return typedefs
}

async function scanModuleUncached(dir: string, moduleName: string, files: string[]): Promise<ModuleTypedefs> {
  const scan = await loadScan()
  let scanned: ScanResult
  try {
    scanned = await scan([...files, clientGenFile()], moduleName, false)
  } catch (e) {
    throw new Error(`the Dagger SDK introspector rejected the module in ${dir}: ${(e as Error).message}`, { cause: e })
  }
  const json = JSON.parse(JSON.stringify(scanned)) as Omit<ModuleTypedefs, "moduleName" | "files">
  // toJSON() drops the cache policy and @check; they are part of the surface (side effects!), so copy them.
  for (const [objName, obj] of Object.entries(json.objects)) {
    withExplicitConstructor(obj)
    for (const [fnName, fn] of Object.entries(obj.methods)) {
      const live = scanned.objects[objName]?.methods[fnName]
      fn.cache = live?.cache
      fn.isCheck = live?.isCheck ?? false
    }
  }
  return { moduleName, files, ...json }
}

// ---------------------------------------------------------------------------------------------------
// Dagger's name conversions. The CLI names functions and flags with Go's iancoleman/strcase `ToKebab`;
// the engine names GraphQL fields with `ToLowerCamel`. Re-implemented byte for byte (ASCII only, like the
// original) so that acronyms and digits split exactly as the CLI splits them.

const isUpper = (c: string): boolean => c >= "A" && c <= "Z"
const isLower = (c: string): boolean => c >= "a" && c <= "z"
const isDigit = (c: string): boolean => c >= "0" && c <= "9"

/** strcase.ToKebab: `deployProduction` → `deploy-production`, `awsKeyID` → `aws-key-id`, `s3Bucket` → `s-3-bucket`. */
export function toKebab(input: string): string {
  const s = input.trim()
  let out = ""
  for (let i = 0; i < s.length; i++) {
    const orig = s[i] ?? ""
    const vIsCap = isUpper(orig)
    const vIsLow = isLower(orig)
    const v = vIsCap ? orig.toLowerCase() : orig
    if (i + 1 < s.length) {
      const next = s[i + 1] ?? ""
      const vIsNum = isDigit(v)
      const nextIsCap = isUpper(next)
      const nextIsLow = isLower(next)
      const nextIsNum = isDigit(next)
      if ((vIsCap && (nextIsLow || nextIsNum)) || (vIsLow && (nextIsCap || nextIsNum)) || (vIsNum && (nextIsCap || nextIsLow))) {
        if (vIsCap && nextIsLow && i > 0 && isUpper(s[i - 1] ?? "")) out += "-"
        out += v
        if (vIsLow || vIsNum || nextIsNum) out += "-"
        continue
      }
    }
    out += v === " " || v === "_" || v === "-" || v === "." ? "-" : v
  }
  return out
}

/** strcase.ToLowerCamel for the names the CLI produces: `deploy-production` → `deployProduction`. */
export function toLowerCamel(input: string): string {
  const s = input.trim()
  let out = ""
  let capNext = false
  for (let i = 0; i < s.length; i++) {
    let v = s[i] ?? ""
    if (capNext) v = v.toUpperCase()
    else if (i === 0) v = v.toLowerCase()
    if (isUpper(v) || isLower(v)) {
      out += v
      capNext = false
    } else if (isDigit(v)) {
      out += v
      capNext = true
    } else {
      capNext = v === "_" || v === " " || v === "-" || v === "."
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------------
// Rendering: `dagger functions` + every `--help`, as stable text for a committed snapshot.

const SCALAR_NAMES: Partial<Record<TypeDefKind, string>> = {
  STRING_KIND: "String",
  INTEGER_KIND: "Int",
  FLOAT_KIND: "Float",
  BOOLEAN_KIND: "Boolean",
  VOID_KIND: "Void",
}

/** GraphQL-style type name without nullability: `String`, `[String!]`, `Secret`, `Notify`. */
export function typeName(t: TypeRef): string {
  if (t.kind === "LIST_KIND") return `[${t.typeDef ? typeName(t.typeDef) : "?"}!]`
  return t.name ?? SCALAR_NAMES[t.kind] ?? t.kind
}

/** True when the caller must pass the flag: not optional, no default value, no default path/address. */
export function isRequired(a: ArgumentDef): boolean {
  return !a.isOptional && !a.isNullable && a.defaultValue === undefined && !a.defaultPath && !a.defaultAddress
}

/** The default as the engine registers it: JSON, enum defaults by member name. */
export function registeredDefault(a: ArgumentDef, enums: Record<string, EnumDef>): string | undefined {
  if (a.defaultValue === undefined) return undefined
  // Like the SDK's Register: a non-primitive default is computed by the function, not registered.
  if (!["STRING_KIND", "INTEGER_KIND", "FLOAT_KIND", "BOOLEAN_KIND", "ENUM_KIND"].includes(a.type.kind)) return undefined
  if (a.type.kind === "ENUM_KIND" && a.type.name && enums[a.type.name]) {
    const member = Object.values(enums[a.type.name]?.values ?? {}).find((m) => m.value === a.defaultValue)
    return JSON.stringify(member ? member.name : a.defaultValue)
  }
  return JSON.stringify(a.defaultValue)
}

function indent(text: string, prefix: string): string {
  return text
    .split("\n")
    .map((l) => (l.length > 0 ? prefix + l : ""))
    .join("\n")
}

function renderArgs(args: ArgumentDef[], enums: Record<string, EnumDef>): string[] {
  if (args.length === 0) return ["  (none)"]
  const lines: string[] = []
  for (const a of args) {
    const notes: string[] = []
    const t = typeName(a.type)
    lines.push(`  --${toKebab(a.name)} ${t}${a.isOptional || a.isNullable ? "" : "!"}`)
    if (isRequired(a)) notes.push("required")
    else if (a.isOptional || a.isNullable) notes.push("optional")
    const def = registeredDefault(a, enums)
    if (def !== undefined) notes.push(`default ${def}`)
    else if (a.defaultValue !== undefined) notes.push("default computed by the function")
    if (a.defaultPath) notes.push(`default path ${JSON.stringify(a.defaultPath)}`)
    if (a.defaultAddress) notes.push(`default address ${JSON.stringify(a.defaultAddress)}`)
    if (a.ignore && a.ignore.length > 0) notes.push(`ignore ${JSON.stringify(a.ignore)}`)
    if (a.isVariadic) notes.push("variadic")
    if (a.deprecated !== undefined) notes.push(`deprecated: ${a.deprecated}`)
    const enumDef = a.type.kind === "ENUM_KIND" && a.type.name ? enums[a.type.name] : undefined
    if (enumDef) notes.push(`one of ${Object.values(enumDef.values).map((v) => v.name).join(", ")}`)
    if (notes.length > 0) lines.push(`      [${notes.join("; ")}]`)
    lines.push(indent(a.description || "(no description)", "      "))
  }
  return lines
}

function renderObject(obj: ObjectDef, typedefs: ModuleTypedefs, isMain: boolean): string[] {
  const lines: string[] = []
  const fns = Object.values(obj.methods).sort((a, b) => (a.alias ?? a.name).localeCompare(b.alias ?? b.name))
  const fields = Object.values(obj.properties)
    .filter((p) => p.isExposed)
    .sort((a, b) => (a.alias ?? a.name).localeCompare(b.alias ?? b.name))
  const callPrefix = isMain ? "dagger call" : `dagger call ... (${obj.name})`

  lines.push(`=== ${isMain ? "dagger functions" : `object ${obj.name}`}`, "")
  lines.push(indent(obj.description || "(no description)", "  "), "")
  const rows = [
    ...fns.map((f) => [toKebab(f.alias ?? f.name), firstLine(f.description)] as const),
    ...fields.map((p) => [toKebab(p.alias ?? p.name), firstLine(p.description)] as const),
  ].sort((a, b) => a[0].localeCompare(b[0]))
  const width = Math.max(4, ...rows.map(([n]) => n.length))
  lines.push(`  ${"Name".padEnd(width)}  Description`)
  for (const [n, d] of rows) lines.push(`  ${n.padEnd(width)}  ${d}`.trimEnd())
  lines.push("")

  // `dagger check` runs every @check() function of the module: the list is part of the surface.
  const checks = fns.filter((f) => f.isCheck).map((f) => [toKebab(f.alias ?? f.name), firstLine(f.description)] as const)
  if (isMain && checks.length > 0) {
    const checkWidth = Math.max(4, ...checks.map(([n]) => n.length))
    lines.push("=== dagger check --list", "")
    lines.push(`  ${"Name".padEnd(checkWidth)}  Description`)
    for (const [n, d] of checks) lines.push(`  ${n.padEnd(checkWidth)}  ${d}`.trimEnd())
    lines.push("")
  }

  const ctor = constructorOf(obj)
  if (ctor) {
    lines.push(`=== ${callPrefix} --help${isMain ? " (constructor arguments: flags of every call)" : ""}`, "")
    lines.push("ARGUMENTS")
    lines.push(...renderArgs(Object.values(ctor.arguments), typedefs.enums), "")
  }
  for (const p of fields) {
    lines.push(`=== ${callPrefix} ${toKebab(p.alias ?? p.name)} --help`, "")
    lines.push(indent(p.description || "(no description)", "  "), "")
    lines.push("RETURNS", `  ${typeName(p.type)}!`, "")
  }
  for (const f of fns) {
    lines.push(`=== ${callPrefix} ${toKebab(f.alias ?? f.name)} --help`, "")
    lines.push(indent(f.description || "(no description)", "  "), "")
    lines.push("ARGUMENTS", ...renderArgs(Object.values(f.arguments), typedefs.enums), "")
    lines.push("RETURNS", `  ${typeName(f.returnType)}${f.returnType.kind === "VOID_KIND" ? "" : "!"}`, "")
    const traits = [
      `cache ${f.cache ?? "default"}`,
      ...(f.isCheck ? ["check"] : []),
      ...(f.deprecated !== undefined ? [`deprecated: ${f.deprecated}`] : []),
    ]
    lines.push("TRAITS", `  ${traits.join("; ")}`, "")
  }
  return lines
}

/** The object's constructor, if it declares one (safe even on objects not built by introspectModule). */
export function constructorOf(obj: ObjectDef): { arguments: Record<string, ArgumentDef> } | undefined {
  return Object.hasOwn(obj, "constructor") ? obj.constructor : undefined
}

function firstLine(text: string): string {
  return (text.split("\n")[0] ?? "").trim() || "(no description)"
}

/**
 * A stable text rendering of the CLI surface: the `dagger functions` table, then `--help` of the
 * constructor (its arguments are flags of every call), every field and every function (kebab-case names,
 * GraphQL-style types with `!` for non-null, required/optional marks, registered defaults, default paths,
 * enum members, cache policy), then every module-defined object and enum. Sorted, so unrelated edits
 * never reorder it.
 */
export function renderCliSurface(typedefs: ModuleTypedefs): string {
  const lines: string[] = [`# CLI surface of module "${typedefs.moduleName}" (main object ${typedefs.name})`, ""]
  lines.push(indent(typedefs.description || "(no module description)", "  "), "")
  const main = typedefs.objects[typedefs.name]
  if (!main) {
    lines.push(`!!! no main object: the module name "${typedefs.moduleName}" needs a class ${typedefs.name}`, "")
  } else {
    lines.push(...renderObject(main, typedefs, true))
  }
  for (const obj of Object.values(typedefs.objects).sort((a, b) => a.name.localeCompare(b.name))) {
    if (obj.name !== typedefs.name) lines.push(...renderObject(obj, typedefs, false))
  }
  for (const e of Object.values(typedefs.enums).sort((a, b) => a.name.localeCompare(b.name))) {
    lines.push(`=== enum ${e.name}`, "", indent(e.description || "(no description)", "  "), "")
    for (const v of Object.values(e.values)) {
      lines.push(`  ${v.name} (${JSON.stringify(v.value)})  ${firstLine(v.description)}`)
    }
    lines.push("")
  }
  return lines.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd() + "\n"
}
