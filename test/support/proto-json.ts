// Proto3 JSON checking for the Cloud Run fake, driven by the .proto files that ship inside
// @google-cloud/run (and the google/api, google/longrunning, google/rpc protos that ship inside its
// google-gax). protobufjs (the copy @google-cloud/run itself resolves) parses them; the walk below applies
// the proto3 JSON mapping to a request body the way Google's front end does: unknown names and values of
// the wrong JSON type are rejected, output-only fields are ignored, required fields are checked.
//
// protobufjs' own `fromObject`/`verify` are not enough on their own: `fromObject` silently drops unknown
// keys and coerces types ("fifty" → 0), and `verify` works on protobufjs' object form, not on proto3 JSON
// (Timestamp as a string, int64 as a string, enums by name or number). So the walk is done here, on the
// reflection protobufjs builds from the .proto files.
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import type * as Protobuf from "../../dagger/node_modules/protobufjs/index.js"

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type JsonObject = { [key: string]: Json }

/** One problem with a request, in the shape of google.rpc.BadRequest.FieldViolation. */
export interface FieldViolation {
  field: string
  description: string
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
/** The package whose protos the fake honours; protobufjs and google-gax are resolved from it. */
export const CLOUD_RUN_PACKAGE_DIR = join(repoRoot, "dagger/node_modules/@google-cloud/run")

/** `require` as seen from inside @google-cloud/run (its protobufjs, google-gax). */
export const requireFromRun = createRequire(join(CLOUD_RUN_PACKAGE_DIR, "package.json"))

function loadProtobuf(): typeof Protobuf {
  if (!existsSync(join(CLOUD_RUN_PACKAGE_DIR, "package.json"))) {
    throw new Error(
      `@google-cloud/run is not installed under ${CLOUD_RUN_PACKAGE_DIR}; run \`npm test\` (or \`npm ci\` in dagger/) first.`,
    )
  }
  return requireFromRun("protobufjs") as typeof Protobuf
}

/** Directories searched for imported .proto files, in order. */
function protoDirs(): string[] {
  // google-gax hides package.json behind "exports"; its entry point sits at build/src/index.js.
  const gaxEntry = requireFromRun.resolve("google-gax")
  return [join(CLOUD_RUN_PACKAGE_DIR, "build/protos"), resolve(dirname(gaxEntry), "../protos")]
}

const INT32 = new Set(["int32", "sint32", "sfixed32"])
const UINT32 = new Set(["uint32", "fixed32"])
const INT64 = new Set(["int64", "sint64", "sfixed64"])
const UINT64 = new Set(["uint64", "fixed64"])
const FLOAT = new Set(["float", "double"])

const WRAPPERS: Record<string, string> = {
  ".google.protobuf.DoubleValue": "double",
  ".google.protobuf.FloatValue": "float",
  ".google.protobuf.Int64Value": "int64",
  ".google.protobuf.UInt64Value": "uint64",
  ".google.protobuf.Int32Value": "int32",
  ".google.protobuf.UInt32Value": "uint32",
  ".google.protobuf.BoolValue": "bool",
  ".google.protobuf.StringValue": "string",
  ".google.protobuf.BytesValue": "bytes",
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/
const DURATION = /^-?\d+(\.\d{1,9})?s$/
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/

function isObject(v: Json | undefined): v is JsonObject {
  return v !== null && typeof v === "object" && !Array.isArray(v)
}

function show(v: Json): string {
  const s = JSON.stringify(v)
  return s.length > 40 ? `${s.slice(0, 37)}...` : s
}

function behaviours(field: Protobuf.Field): string[] {
  const parsed = field.parsedOptions as unknown as Array<Record<string, unknown>> | undefined
  return (parsed ?? [])
    .map((o) => o["(google.api.field_behavior)"])
    .filter((b): b is string => typeof b === "string")
}

export interface ParseOptions {
  /** Drop fields marked OUTPUT_ONLY instead of keeping them (Google ignores them in requests). */
  dropOutputOnly?: boolean
  /** Report fields marked REQUIRED that are missing (not when a field mask limits the update). */
  checkRequired?: boolean
}

interface Walk extends ParseOptions {
  violations: FieldViolation[]
}

/**
 * The Cloud Run v2 protos, loaded once, and the proto3 JSON rules applied to them.
 * Normalised form (what `parse` returns and what the fake stores): lowerCamel keys, enums as numbers,
 * 64-bit integers as strings, default scalars and empty lists/maps left out — the canonical output form.
 */
export class ProtoJson {
  readonly protobuf: typeof Protobuf
  readonly root: Protobuf.Root

  constructor(files = ["google/cloud/run/v2/service.proto", "google/cloud/run/v2/revision.proto"]) {
    this.protobuf = loadProtobuf()
    const dirs = protoDirs()
    const root = new this.protobuf.Root()
    root.resolvePath = (_origin, target) => {
      for (const dir of dirs) {
        const candidate = join(dir, target)
        if (existsSync(candidate)) return candidate
      }
      return target // protobufjs' bundled google/protobuf/* types
    }
    root.loadSync(files)
    root.resolveAll()
    this.root = root
  }

  type(name: string): Protobuf.Type {
    return this.root.lookupType(name)
  }

  /**
   * Checks `json` against message `typeName` and returns it normalised, with every violation found.
   * `at` names the value in messages (e.g. "service"), as Google's errors do.
   */
  parse(typeName: string, json: Json, at: string, options: ParseOptions = {}): { value: JsonObject; violations: FieldViolation[] } {
    const walk: Walk = { ...options, violations: [] }
    const type = this.type(typeName)
    if (!isObject(json)) {
      walk.violations.push({
        field: at,
        description: `Invalid value at '${at}' (type.googleapis.com${type.fullName.replace(/^\./, "/")}), ${show(json)}`,
      })
      return { value: {}, violations: walk.violations }
    }
    const value = this.message(type, json, at, walk)
    return { value: isObject(value) ? value : {}, violations: walk.violations }
  }

  /** Renders a stored (normalised) message for a response, with enums as numbers or as names. */
  render(typeName: string, json: JsonObject, enumsAsInts: boolean): JsonObject {
    const out = this.renderMessage(this.type(typeName), json, enumsAsInts)
    return isObject(out) ? out : {}
  }

  /** Field names of a message, for field-mask checks. */
  fieldNames(typeName: string): string[] {
    return this.type(typeName).fieldsArray.map((f) => f.name)
  }

  /** The field `name` (lowerCamel or snake_case) of a message, if it exists. */
  field(type: Protobuf.Type, name: string): Protobuf.Field | undefined {
    return type.fields[name] ?? type.fields[this.protobuf.util.camelCase(name)]
  }

  private message(type: Protobuf.Type, json: JsonObject, at: string, walk: Walk): Json {
    const special = this.wellKnown(type, json, at, walk)
    if (special !== undefined) return special
    const out: JsonObject = {}
    const oneofSeen = new Map<string, string>()
    for (const [key, raw] of Object.entries(json)) {
      const field = this.field(type, key)
      if (!field) {
        walk.violations.push({
          field: at,
          description: `Invalid JSON payload received. Unknown name "${key}" at '${at}': Cannot find field.`,
        })
        continue
      }
      if (raw === null) continue
      const path = `${at}.${field.name}`
      if (field.partOf) {
        const other = oneofSeen.get(field.partOf.name)
        if (other) {
          walk.violations.push({
            field: path,
            description: `Invalid JSON payload received. Oneof field '${field.partOf.name}' is already set. Cannot set '${field.name}' (already set: '${other}').`,
          })
          continue
        }
        oneofSeen.set(field.partOf.name, field.name)
      }
      if (walk.dropOutputOnly && behaviours(field).includes("OUTPUT_ONLY")) continue
      const value = this.fieldValue(field, raw, path, walk)
      if (value !== undefined) out[field.name] = value
    }
    if (walk.checkRequired) {
      for (const field of type.fieldsArray) {
        const given = Object.entries(json).some(([k, v]) => v !== null && v !== "" && this.field(type, k) === field)
        if (behaviours(field).includes("REQUIRED") && !given) {
          walk.violations.push({ field: `${at}.${field.name}`, description: `${at}.${field.name}: is required and was not set.` })
        }
      }
    }
    return out
  }

  private fieldValue(field: Protobuf.Field, raw: Json, path: string, walk: Walk): Json | undefined {
    if (field.map) {
      if (!isObject(raw)) {
        walk.violations.push({ field: path, description: `Invalid value at '${path}' (map), ${show(raw)}` })
        return undefined
      }
      const keyType = (field as unknown as Protobuf.MapField).keyType
      const out: JsonObject = {}
      for (const [k, v] of Object.entries(raw)) {
        if (keyType !== "string" && !/^-?\d+$/.test(k) && !(keyType === "bool" && (k === "true" || k === "false"))) {
          walk.violations.push({ field: path, description: `Invalid map key at '${path}' (TYPE_${keyType.toUpperCase()}), "${k}"` })
          continue
        }
        const value = this.single(field, v, `${path}[${JSON.stringify(k)}]`, walk, true)
        if (value !== undefined) out[k] = value
      }
      return Object.keys(out).length > 0 ? out : undefined
    }
    if (field.repeated) {
      if (!Array.isArray(raw)) {
        walk.violations.push({
          field: path,
          description: `Invalid value at '${path}' (${this.typeLabel(field)}), ${show(raw)}: Proto field is repeating, expected a list.`,
        })
        return undefined
      }
      const out: Json[] = []
      raw.forEach((element, i) => {
        const value = this.single(field, element, `${path}[${i}]`, walk, true)
        if (value !== undefined) out.push(value)
      })
      return out.length > 0 ? out : undefined
    }
    return this.single(field, raw, path, walk, this.hasPresence(field))
  }

  /** Whether a zero value of this field still means "set" (oneof members, messages, proto3 optional). */
  private hasPresence(field: Protobuf.Field): boolean {
    return field.partOf !== null || field.resolvedType instanceof this.protobuf.Type ||
      (field.options as Record<string, unknown> | undefined)?.["proto3_optional"] === true
  }

  private typeLabel(field: Protobuf.Field): string {
    const t = field.resolvedType
    return t ? `type.googleapis.com${t.fullName.replace(/^\./, "/")}` : `TYPE_${field.type.toUpperCase()}`
  }

  /** One (non-repeated) value. `keepDefault` keeps zero values whose presence is meaningful. */
  private single(field: Protobuf.Field, raw: Json, path: string, walk: Walk, keepDefault: boolean): Json | undefined {
    const bad = () => {
      walk.violations.push({ field: path, description: `Invalid value at '${path}' (${this.typeLabel(field)}), ${show(raw)}` })
      return undefined
    }
    const resolved = field.resolvedType
    if (resolved instanceof this.protobuf.Enum) {
      let number: number | undefined
      if (typeof raw === "number" && Number.isInteger(raw) && resolved.valuesById[raw] !== undefined) number = raw
      if (typeof raw === "string" && resolved.values[raw] !== undefined) number = resolved.values[raw]
      if (number === undefined) return bad()
      return number === 0 && !keepDefault ? undefined : number
    }
    if (resolved instanceof this.protobuf.Type) {
      if (raw === null) return undefined
      if (!isObject(raw) && !this.isScalarWellKnown(resolved)) return bad()
      return this.message(resolved, isObject(raw) ? raw : { "@value": raw }, path, walk)
    }
    const value = scalar(field.type, raw)
    if (value === undefined) return bad()
    return isDefault(field.type, value) && !keepDefault ? undefined : value
  }

  private isScalarWellKnown(type: Protobuf.Type): boolean {
    const n = type.fullName
    return n in WRAPPERS || [".google.protobuf.Timestamp", ".google.protobuf.Duration", ".google.protobuf.FieldMask",
      ".google.protobuf.Value", ".google.protobuf.ListValue"].includes(n)
  }

  /** Well-known types with their own JSON forms; undefined when `type` is an ordinary message. */
  private wellKnown(type: Protobuf.Type, json: JsonObject, at: string, walk: Walk): Json | undefined {
    const name = type.fullName
    // Scalar well-known types arrive wrapped as { "@value": raw } by `single`.
    const raw = json["@value"]
    const bad = (what: string) => {
      walk.violations.push({ field: at, description: `Invalid value at '${at}' (${what}), ${show(raw ?? json)}` })
      return null
    }
    if (name in WRAPPERS) {
      const value = raw === undefined ? undefined : scalar(WRAPPERS[name]!, raw)
      return value === undefined ? bad(`type.googleapis.com/${name.slice(1)}`) : value
    }
    switch (name) {
      case ".google.protobuf.Timestamp":
        return typeof raw === "string" && RFC3339.test(raw) && !Number.isNaN(Date.parse(raw)) ? raw : bad("type.googleapis.com/google.protobuf.Timestamp")
      case ".google.protobuf.Duration":
        return typeof raw === "string" && DURATION.test(raw) ? raw : bad("type.googleapis.com/google.protobuf.Duration")
      case ".google.protobuf.FieldMask":
        return typeof raw === "string" && /^([A-Za-z_][A-Za-z0-9_.]*)?(,[A-Za-z_][A-Za-z0-9_.]*)*$/.test(raw) ? raw : bad("type.googleapis.com/google.protobuf.FieldMask")
      case ".google.protobuf.Value":
        return raw === undefined ? json : raw
      case ".google.protobuf.ListValue":
        return Array.isArray(raw) ? raw : bad("type.googleapis.com/google.protobuf.ListValue")
      case ".google.protobuf.Struct":
        return json
      case ".google.protobuf.Empty":
        if (Object.keys(json).length > 0) return bad("type.googleapis.com/google.protobuf.Empty")
        return {}
      case ".google.protobuf.Any": {
        const url = json["@type"]
        if (typeof url !== "string") return bad("type.googleapis.com/google.protobuf.Any: missing @type")
        const inner = url.replace(/^.*\//, "")
        let innerType: Protobuf.Type
        try {
          innerType = this.type(inner)
        } catch {
          return bad(`type.googleapis.com/google.protobuf.Any: unknown type ${url}`)
        }
        const { "@type": _, ...rest } = json
        const value = this.message(innerType, rest, at, walk)
        return isObject(value) ? { "@type": url, ...value } : value
      }
      default:
        return undefined
    }
  }

  private renderMessage(type: Protobuf.Type, json: Json, enumsAsInts: boolean): Json {
    if (!isObject(json)) return json
    if (type.fullName === ".google.protobuf.Any") {
      const url = json["@type"]
      if (typeof url !== "string") return json
      const rendered = this.renderMessage(this.type(url.replace(/^.*\//, "")), json, enumsAsInts)
      return isObject(rendered) ? { ...rendered, "@type": url } : rendered
    }
    const out: JsonObject = {}
    for (const [key, value] of Object.entries(json)) {
      const field = type.fields[key]
      if (!field) {
        out[key] = value
        continue
      }
      const one = (v: Json): Json => {
        const t = field.resolvedType
        if (t instanceof this.protobuf.Enum && typeof v === "number" && !enumsAsInts) return t.valuesById[v] ?? v
        if (t instanceof this.protobuf.Type) return this.renderMessage(t, v, enumsAsInts)
        return v
      }
      if (field.map && isObject(value)) out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, one(v)]))
      else if (field.repeated && Array.isArray(value)) out[key] = value.map(one)
      else out[key] = one(value)
    }
    return out
  }
}

function isDefault(type: string, v: Json): boolean {
  if (INT64.has(type) || UINT64.has(type)) return v === "0"
  return v === 0 || v === "" || v === false
}

/** A scalar in proto3 JSON form, normalised; undefined when `raw` has the wrong JSON type or range. */
function scalar(type: string, raw: Json): Json | undefined {
  const integer = (min: number, max: number): number | undefined => {
    const n = typeof raw === "number" ? raw : typeof raw === "string" && /^-?\d+$/.test(raw) ? Number(raw) : NaN
    return Number.isInteger(n) && n >= min && n <= max ? n : undefined
  }
  if (INT32.has(type)) return integer(-(2 ** 31), 2 ** 31 - 1)
  if (UINT32.has(type)) return integer(0, 2 ** 32 - 1)
  if (INT64.has(type) || UINT64.has(type)) {
    const text = typeof raw === "number" && Number.isSafeInteger(raw) ? String(raw) : typeof raw === "string" ? raw : ""
    if (!/^-?\d+$/.test(text)) return undefined
    if (UINT64.has(type) && text.startsWith("-")) return undefined
    return String(BigInt(text))
  }
  if (FLOAT.has(type)) {
    if (typeof raw === "number") return raw
    if (raw === "NaN" || raw === "Infinity" || raw === "-Infinity") return raw
    if (typeof raw === "string" && raw.trim() !== "" && !Number.isNaN(Number(raw))) return Number(raw)
    return undefined
  }
  if (type === "bool") return typeof raw === "boolean" ? raw : undefined
  if (type === "string") return typeof raw === "string" ? raw : undefined
  if (type === "bytes") return typeof raw === "string" && BASE64.test(raw) ? raw : undefined
  return undefined
}
