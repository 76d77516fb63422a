// Reads the Terraform code in terraform/ the way tests need it: every .tf file of a module parsed
// with @cdktf/hcl2json (HashiCorp's HCL parser compiled to WebAssembly) and merged, module calls
// followed to their source directories, and the small expression language the names use
// ("${var.x}-alb", "${local.names.y}", "${count.index}") evaluated. Anything richer is reported as
// unsupported rather than guessed.
import { readFileSync, readdirSync } from "node:fs"
import { join, resolve } from "node:path"
import { parse } from "@cdktf/hcl2json"
import { repoRoot } from "../tools/paths.js"

export const terraformRoot = join(repoRoot, "terraform")

/** A block body as hcl2json gives it: attributes are values, nested blocks are arrays of bodies. */
export type Body = Record<string, unknown>

export interface HclModule {
  dir: string
  files: string[]
  /** resource[type][name] = body */
  resources: Record<string, Record<string, Body>>
  data: Record<string, Record<string, Body>>
  modules: Record<string, Body>
  variables: Record<string, Body>
  outputs: Record<string, Body>
  locals: Record<string, unknown>
  terraform: Body[]
}

function firstBody(value: unknown, where: string): Body {
  if (Array.isArray(value) && value.length === 1 && typeof value[0] === "object") return value[0] as Body
  throw new Error(`${where}: expected exactly one block body, got ${JSON.stringify(value)?.slice(0, 120)}`)
}

/** Parses and merges every .tf file of one module directory. */
export async function loadModule(dir: string): Promise<HclModule> {
  const abs = resolve(dir)
  const files = readdirSync(abs)
    .filter((f) => f.endsWith(".tf"))
    .sort()
  const mod: HclModule = {
    dir: abs,
    files,
    resources: {},
    data: {},
    modules: {},
    variables: {},
    outputs: {},
    locals: {},
    terraform: [],
  }
  for (const file of files) {
    const parsed = (await parse(file, readFileSync(join(abs, file), "utf8"))) as Record<string, unknown>
    for (const [kind, content] of Object.entries(parsed)) {
      const where = `${abs}/${file}`
      if (kind === "resource" || kind === "data") {
        const target = kind === "resource" ? mod.resources : mod.data
        for (const [type, byName] of Object.entries(content as Record<string, Record<string, unknown>>)) {
          target[type] ??= {}
          for (const [name, bodies] of Object.entries(byName)) {
            if (target[type]![name]) throw new Error(`${where}: ${kind} ${type}.${name} declared twice`)
            target[type]![name] = firstBody(bodies, `${where} ${type}.${name}`)
          }
        }
      } else if (kind === "module" || kind === "variable" || kind === "output") {
        const target = kind === "module" ? mod.modules : kind === "variable" ? mod.variables : mod.outputs
        for (const [name, bodies] of Object.entries(content as Record<string, unknown>)) {
          if (target[name]) throw new Error(`${where}: ${kind} ${name} declared twice`)
          target[name] = firstBody(bodies, `${where} ${kind} ${name}`)
        }
      } else if (kind === "locals") {
        for (const body of content as Body[]) Object.assign(mod.locals, body)
      } else if (kind === "terraform") {
        mod.terraform.push(...(content as Body[]))
      } else if (kind !== "provider" && kind !== "import" && kind !== "moved" && kind !== "removed" && kind !== "check") {
        throw new Error(`${where}: unexpected top-level block '${kind}'`)
      }
    }
  }
  return mod
}

/** `${foo}` → `foo` (hcl2json wraps every expression that is not a plain literal). */
export function unwrap(expr: unknown): string {
  if (typeof expr !== "string") throw new Error(`expected an expression string, got ${JSON.stringify(expr)}`)
  const m = /^\$\{(.*)\}$/s.exec(expr)
  return m ? m[1]!.trim() : expr
}

/** A parsed resource address: `module.a.aws_x.y[0]` → { modulePath: ["a"], type, name, index: 0 }. */
export interface Address {
  modulePath: string[]
  type: string
  name: string
  index?: number
}

export function parseAddress(address: string): Address {
  const parts = address.split(".")
  const modulePath: string[] = []
  while (parts[0] === "module") {
    parts.shift()
    const name = parts.shift()
    if (!name) throw new Error(`address ${address}: 'module' without a name`)
    modulePath.push(name)
  }
  if (parts.length !== 2) throw new Error(`address ${address}: expected <type>.<name> after the module path`)
  const m = /^([A-Za-z0-9_-]+)(?:\[(\d+)\])?$/.exec(parts[1]!)
  if (!m) throw new Error(`address ${address}: unsupported resource name/index '${parts[1]}'`)
  return { modulePath, type: parts[0]!, name: m[1]!, ...(m[2] !== undefined ? { index: Number(m[2]) } : {}) }
}

/** Values of variables: a lookup that may fail when the expression behind a variable is not supported. */
export type VarLookup = (name: string) => unknown

export interface Scope {
  vars: VarLookup
  locals: Record<string, unknown>
  countIndex?: number
}

const REF = /^(var\.[A-Za-z0-9_]+|local(?:\.[A-Za-z0-9_]+)+|count\.index)$/

function evalRef(ref: string, scope: Scope): unknown {
  if (!REF.test(ref)) throw new Error(`unsupported expression '${ref}' (only var.*, local.* and count.index are evaluated)`)
  if (ref === "count.index") {
    if (scope.countIndex === undefined) throw new Error("count.index used outside a counted resource")
    return scope.countIndex
  }
  const [head, ...path] = ref.split(".")
  if (head === "var") return scope.vars(path[0]!)
  let cur: unknown = scope.locals
  for (const key of path) {
    if (cur === null || typeof cur !== "object" || !(key in cur)) throw new Error(`unknown local '${ref}'`)
    cur = (cur as Record<string, unknown>)[key]
  }
  return evaluate(cur, scope)
}

/** Evaluates a literal, a single reference, or a string template made of literals and references. */
export function evaluate(value: unknown, scope: Scope): unknown {
  if (typeof value !== "string") return value
  const whole = /^\$\{([^${}]+)\}$/.exec(value)
  if (whole) return evalRef(whole[1]!.trim(), scope)
  return value.replace(/\$\{([^${}]+)\}/g, (_, ref: string) => String(evalRef(ref.trim(), scope)))
}

export interface LoadedStack {
  root: HclModule
  /** Child modules by call name (one level deep, as in this repository). */
  children: Record<string, HclModule>
}

/** Loads a root module and every module it calls. */
export async function loadStack(name: "aws" | "gcp"): Promise<LoadedStack> {
  const root = await loadModule(join(terraformRoot, name))
  const children: Record<string, HclModule> = {}
  for (const [call, body] of Object.entries(root.modules)) {
    const source = body.source
    if (typeof source !== "string" || !source.startsWith("../modules/")) {
      throw new Error(`module ${call} in terraform/${name}: source must be a local ../modules/ path, got ${String(source)}`)
    }
    children[call] = await loadModule(join(root.dir, source))
  }
  return { root, children }
}

/** Variable lookup for a module: the given values first, then the variable's default. */
export function variableLookup(mod: HclModule, values: (name: string) => unknown | undefined): VarLookup {
  return (name) => {
    const decl = mod.variables[name]
    if (!decl) throw new Error(`${mod.dir}: var.${name} is not declared`)
    const v = values(name)
    if (v !== undefined) return v
    if ("default" in decl) return decl.default
    throw new Error(`${mod.dir}: var.${name} has no value and no default`)
  }
}

/** The scope of the root module given tfvars (as the pipeline writes them). */
export function rootScope(stack: LoadedStack, tfvars: Record<string, unknown>): Scope {
  return { vars: variableLookup(stack.root, (n) => tfvars[n]), locals: stack.root.locals }
}

/** The scope inside a child module: its inputs are evaluated (lazily) in the root scope. */
export function moduleScope(stack: LoadedStack, call: string, tfvars: Record<string, unknown>): Scope {
  const child = stack.children[call]
  const callBody = stack.root.modules[call]
  if (!child || !callBody) throw new Error(`module ${call} is not called by ${stack.root.dir}`)
  const outer = rootScope(stack, tfvars)
  return {
    vars: variableLookup(child, (n) => (n in callBody ? evaluate(callBody[n], outer) : undefined)),
    locals: child.locals,
  }
}

/** The resource body an address names, with its module; throws saying what does not resolve. */
export function resolveAddress(stack: LoadedStack, address: string): { body: Body; module: HclModule; call?: string } {
  const a = parseAddress(address)
  if (a.modulePath.length > 1) throw new Error(`${address}: nested modules are not used in this repository`)
  const call = a.modulePath[0]
  const mod = call ? stack.children[call] : stack.root
  if (!mod) throw new Error(`${address}: the root module has no module "${call}"`)
  const body = mod.resources[a.type]?.[a.name]
  if (!body) throw new Error(`${address}: ${mod.dir} declares no resource ${a.type}.${a.name}`)
  if (a.index !== undefined) {
    const count = body.count
    if (typeof count !== "number") throw new Error(`${address}: indexed, but ${a.type}.${a.name} has no literal count`)
    if (a.index >= count) throw new Error(`${address}: index ${a.index} is outside count = ${count}`)
  } else if ("count" in body || "for_each" in body) {
    throw new Error(`${address}: ${a.type}.${a.name} is counted; the address needs an index`)
  }
  return { body, module: mod, ...(call ? { call } : {}) }
}

/** The `ignore_changes` list of a resource, as plain attribute paths. */
export function ignoreChanges(body: Body): string[] {
  const lifecycle = body.lifecycle as Body[] | undefined
  const list = lifecycle?.[0]?.ignore_changes
  if (list === undefined) return []
  if (!Array.isArray(list)) throw new Error(`ignore_changes must be a list, got ${JSON.stringify(list)}`)
  return list.map(unwrap)
}

/** Every .tf file under terraform/ (for checks that look at all of them). */
export function allTerraformFiles(dir = terraformRoot): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === ".terraform") continue
    const p = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...allTerraformFiles(p))
    else if (entry.name.endsWith(".tf")) out.push(p)
  }
  return out.sort()
}
