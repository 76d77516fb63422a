// CLI-surface rules and a signature assertion helper, on the typedefs from introspect.ts.
//
// `surfaceProblems` returns every broken rule as a sentence (empty = fine), so a test shows all of them at
// once and the self-test can prove each rule fires on a bad module. `expectFunction` lets each capability's
// tests pin its own function's flags in a few lines.
import {
  constructorOf,
  isRequired,
  registeredDefault,
  toKebab,
  toLowerCamel,
  typeName,
  type ArgumentDef,
  type FunctionDef,
  type ModuleTypedefs,
  type ObjectDef,
  type TypeRef,
} from "./introspect.js"

/** Argument names that carry credentials or URLs with embedded tokens: they must be Secrets. */
export const SECRET_NAME = /key|token|secret|webhook|credential|password/i

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/

export interface SurfaceRulesOptions {
  /** Argument names (TypeScript or CLI form) matching SECRET_NAME that are deliberately not secrets, e.g. "cacheKey". */
  notSecret?: string[]
}

function innermost(t: TypeRef): TypeRef {
  return t.kind === "LIST_KIND" && t.typeDef ? innermost(t.typeDef) : t
}

/** Where a name lives, for messages: `deploy-staging --aws-secret-access-key`. */
function where(obj: ObjectDef, typedefs: ModuleTypedefs, fn?: string, arg?: string): string {
  const owner = obj.name === typedefs.name ? "" : `${obj.name}.`
  const f = fn === undefined ? "" : fn === "" ? "constructor" : toKebab(fn)
  return `${owner}${f}${arg === undefined ? "" : ` --${toKebab(arg)}`}`.trim()
}

function nameProblems(kind: string, name: string, at: string): string[] {
  const kebab = toKebab(name)
  const back = toLowerCamel(kebab)
  const out: string[] = []
  if (!KEBAB.test(kebab)) out.push(`${kind} ${at}: "${name}" becomes "${kebab}" on the CLI, which is not plain kebab-case; rename it`)
  else if (back !== name) {
    out.push(`${kind} ${at}: "${name}" becomes "${kebab}" on the CLI, which maps back to "${back}"; rename it to "${back}"`)
  }
  return out
}

function argProblems(args: Record<string, ArgumentDef>, at: (arg: string) => string, notSecret: Set<string>): string[] {
  const out: string[] = []
  for (const a of Object.values(args)) {
    const here = at(a.name)
    if (!a.description.trim()) out.push(`argument ${here} has no doc comment (it is the flag's --help text); add an @param line`)
    out.push(...nameProblems("argument", a.name, here))
    if (SECRET_NAME.test(a.name) && !notSecret.has(a.name) && !notSecret.has(toKebab(a.name))) {
      const inner = innermost(a.type)
      if (inner.kind === "STRING_KIND") {
        out.push(`argument ${here} looks like a credential but is a plain ${typeName(a.type)}; make it a Secret (plaintext shows up in logs and the cache)`)
      } else if (inner.name !== "Secret") {
        out.push(`argument ${here} looks like a credential but is ${typeName(a.type)}; make it a Secret, or list it in notSecret if it is not one`)
      }
    }
  }
  return out
}

/**
 * Every broken CLI-surface rule, as readable sentences (empty array = all good):
 * every function, field and argument has a doc comment; names survive the CLI's kebab-case conversion
 * and back; credential-like arguments are Secrets (never Strings); the main object exists.
 */
export function surfaceProblems(typedefs: ModuleTypedefs, opts: SurfaceRulesOptions = {}): string[] {
  const notSecret = new Set(opts.notSecret ?? [])
  const out: string[] = []
  if (!typedefs.objects[typedefs.name]) {
    out.push(`module "${typedefs.moduleName}" has no main object ${typedefs.name}: the class name must be the PascalCase of the module name`)
  }
  for (const obj of Object.values(typedefs.objects)) {
    if (!obj.description.trim()) out.push(`object ${obj.name} has no doc comment`)
    const ctor = constructorOf(obj)
    if (ctor) out.push(...argProblems(ctor.arguments, (a) => where(obj, typedefs, "", a), notSecret))
    for (const fn of Object.values(obj.methods)) {
      const name = fn.alias ?? fn.name
      const here = where(obj, typedefs, name)
      if (!fn.description.trim()) out.push(`function ${here} has no doc comment (it is the --help text); add one`)
      out.push(...nameProblems("function", name, here))
      out.push(...argProblems(fn.arguments, (a) => where(obj, typedefs, name, a), notSecret))
    }
    for (const p of Object.values(obj.properties)) {
      if (!p.isExposed) continue
      const name = p.alias ?? p.name
      const here = where(obj, typedefs, name)
      if (!p.description.trim()) out.push(`field ${here} has no doc comment; add one`)
      out.push(...nameProblems("field", name, here))
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------------

export interface ArgSpec {
  /** Type as rendered in the surface, without `!`: "String", "Int", "Boolean", "Secret", "Directory", "[String!]", an enum name. */
  type?: string
  /** The caller must pass it (no default, not optional). */
  required?: boolean
  /** Declared optional (`x?: T`). */
  optional?: boolean
  /** The registered default as a JS value (enum defaults by member name), or undefined for "none". */
  default?: unknown
  /** The `defaultPath` of a contextual Directory/File. */
  defaultPath?: string
  /** Enum member names accepted by the flag, in declaration order. */
  enumValues?: string[]
  /** The doc comment must contain this text (e.g. the default it states). */
  description?: string | RegExp
}

export interface FunctionSpec {
  /** Flags by CLI name (kebab-case). */
  args?: Record<string, ArgSpec>
  /** Fail if the function has flags not listed in args. Default true. */
  exactArgs?: boolean
  /** Return type as rendered, without `!` (e.g. "Container", "String", "DeployReport"). */
  returns?: string
  /** Cache policy: "never", "session", a TTL, or "default". */
  cache?: string
  /** Object owning the function. Default: the main object. */
  object?: string
}

function specMismatches(a: ArgumentDef, spec: ArgSpec, typedefs: ModuleTypedefs, at: string): string[] {
  const out: string[] = []
  const t = typeName(a.type)
  if (spec.type !== undefined && t !== spec.type) out.push(`${at}: type is ${t}, expected ${spec.type}`)
  if (spec.required !== undefined && isRequired(a) !== spec.required) {
    out.push(`${at}: is ${isRequired(a) ? "required" : "not required"}, expected ${spec.required ? "required" : "not required"}`)
  }
  if (spec.optional !== undefined && a.isOptional !== spec.optional) {
    out.push(`${at}: is ${a.isOptional ? "optional" : "not optional"}, expected ${spec.optional ? "optional" : "not optional"}`)
  }
  if ("default" in spec) {
    const reg = registeredDefault(a, typedefs.enums)
    const actual: unknown = reg === undefined ? undefined : JSON.parse(reg)
    if (JSON.stringify(actual) !== JSON.stringify(spec.default)) {
      out.push(`${at}: default is ${reg ?? "none"}, expected ${spec.default === undefined ? "none" : JSON.stringify(spec.default)}`)
    }
  }
  if (spec.defaultPath !== undefined && a.defaultPath !== spec.defaultPath) {
    out.push(`${at}: default path is ${JSON.stringify(a.defaultPath)}, expected ${JSON.stringify(spec.defaultPath)}`)
  }
  if (spec.enumValues !== undefined) {
    const e = a.type.kind === "ENUM_KIND" && a.type.name ? typedefs.enums[a.type.name] : undefined
    const names = e ? Object.values(e.values).map((v) => v.name) : []
    if (JSON.stringify(names) !== JSON.stringify(spec.enumValues)) {
      out.push(`${at}: enum values are [${names.join(", ")}], expected [${spec.enumValues.join(", ")}]`)
    }
  }
  if (spec.description !== undefined) {
    const ok = typeof spec.description === "string" ? a.description.includes(spec.description) : spec.description.test(a.description)
    if (!ok) out.push(`${at}: doc comment ${JSON.stringify(a.description)} does not match ${String(spec.description)}`)
  }
  return out
}

/**
 * Differences between a function's signature and spec, as sentences (empty = matches). `fn` is the CLI
 * name ("deploy-staging") or the TypeScript name; "" means the object's constructor.
 */
export function functionMismatches(typedefs: ModuleTypedefs, fn: string, spec: FunctionSpec): string[] {
  const objName = spec.object ?? typedefs.name
  const obj = typedefs.objects[objName]
  if (!obj) return [`no object ${objName} in module "${typedefs.moduleName}"`]
  let def: Pick<FunctionDef, "arguments"> & Partial<FunctionDef>
  if (fn === "") {
    const ctor = constructorOf(obj)
    if (!ctor) return [`${objName} has no constructor`]
    def = ctor
  } else {
    const found = Object.values(obj.methods).find((f) => toKebab(f.alias ?? f.name) === fn || (f.alias ?? f.name) === fn)
    if (!found) {
      const have = Object.values(obj.methods).map((f) => toKebab(f.alias ?? f.name))
      return [`no function "${fn}" on ${objName}; it has: ${have.join(", ") || "none"}`]
    }
    def = found
  }
  const label = fn === "" ? `${objName} constructor` : toKebab(fn)
  const out: string[] = []
  const byCli = new Map(Object.values(def.arguments).map((a) => [toKebab(a.name), a]))
  for (const [flag, argSpec] of Object.entries(spec.args ?? {})) {
    const a = byCli.get(flag) ?? byCli.get(toKebab(flag))
    if (!a) {
      out.push(`${label}: no flag --${flag}; it has ${[...byCli.keys()].map((k) => `--${k}`).join(", ") || "none"}`)
      continue
    }
    out.push(...specMismatches(a, argSpec, typedefs, `${label} --${toKebab(a.name)}`))
  }
  if (spec.exactArgs !== false && spec.args) {
    const expected = new Set(Object.keys(spec.args).map((k) => toKebab(k)))
    for (const flag of byCli.keys()) if (!expected.has(flag)) out.push(`${label}: unexpected flag --${flag}`)
  }
  if (spec.returns !== undefined && def.returnType && typeName(def.returnType) !== spec.returns) {
    out.push(`${label}: returns ${typeName(def.returnType)}, expected ${spec.returns}`)
  }
  if (spec.cache !== undefined && fn !== "" && (def.cache ?? "default") !== spec.cache) {
    out.push(`${label}: cache policy is ${def.cache ?? "default"}, expected ${spec.cache}`)
  }
  return out
}

/**
 * Assert a function's CLI signature, e.g.
 * `expectFunction(typedefs, "deploy-staging", { args: { "aws-access-key-id": { type: "Secret", required: true } }, cache: "never" })`.
 * Fails with every mismatch listed at once.
 */
export function expectFunction(typedefs: ModuleTypedefs, fn: string, spec: FunctionSpec): void {
  const mismatches = functionMismatches(typedefs, fn, spec)
  if (mismatches.length > 0) {
    throw new Error(`signature of ${fn || "the constructor"} differs from the spec:\n${mismatches.map((m) => `  - ${m}`).join("\n")}`)
  }
}
