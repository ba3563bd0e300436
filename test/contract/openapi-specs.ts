// The official Cloud Hypervisor (OpenAPI 3.0.1) and Firecracker (Swagger 2.0) specs as request validators, pinned
// to the release files kept in ./specs (versions, sources and licences in specs/README.md), plus the rules the specs
// cannot express (hypervisor-apis.md §7.1):
//  * a strict overlay, `additionalProperties: false` on every object schema that does not say otherwise:
//    Firecracker rejects unknown fields with 400 and Cloud Hypervisor drops them silently, so both are bugs;
//  * Firecracker `/snapshot/load`: exactly one of `mem_file_path` / `mem_backend`;
//  * Cloud Hypervisor `vm.restore`: `resume` and `memory_restore_mode` only for a target of v52 or later.
import Ajv, { type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

const SPEC_DIR = join(import.meta.dir, "specs");
export const CH_SPEC_FILE = "cloud-hypervisor.v53.0.yaml";
export const FC_SPEC_FILE = "firecracker.v1.16.1.yaml";
/** First CH release whose RestoreConfig has `resume` and `memory_restore_mode`. */
const CH_RESTORE_RESUME_SINCE_MAJOR = 52;

/** Integer formats the specs use; ajv-formats does not know them and the type check already covers them. */
const NUMBER_FORMATS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"];

export interface Operation {
  method: string;
  /** Spec path template, e.g. `/drives/{drive_id}`. */
  template: string;
  /** The request body schema ($ref into the document), if the operation takes one. */
  body?: { schema: unknown; required: boolean };
  /** 200 response schema, if any. */
  ok?: unknown;
}

export interface RequestProblem {
  request: string;
  problem: string;
}

/** A spec compiled for one target: validates (method, path, body) of requests and 200 answers. */
export class SpecValidator {
  private readonly ajv: Ajv;
  private readonly operations: Operation[];
  private readonly compiled = new Map<unknown, ValidateFunction>();

  constructor(
    readonly name: string,
    document: Record<string, any>,
    /** Prefix the client puts before spec paths (`/api/v1` for CH, "" for FC). */
    private readonly basePath: string,
    kind: "openapi3" | "swagger2",
  ) {
    this.ajv = new Ajv({ strict: false, allErrors: true, logger: false });
    addFormats(this.ajv);
    for (const format of NUMBER_FORMATS) this.ajv.addFormat(format, true);
    const id = name;
    if (kind === "openapi3") {
      this.ajv.addSchema({ $id: id, components: document.components }, id);
    } else {
      this.ajv.addSchema({ $id: id, definitions: document.definitions }, id);
    }
    this.operations = listOperations(document, kind, id);
  }

  /** Problems with one request; empty when it is what the spec (plus our rules) allows. */
  checkRequest(method: string, path: string, body: unknown): string[] {
    const op = this.find(method, path);
    if (!op) return [`${method} ${path} is not an operation of ${this.name}`];
    if (!op.body) return body === null || body === undefined ? [] : [`${method} ${path} takes no body, got ${JSON.stringify(body)}`];
    if (body === null || body === undefined) return op.body.required ? [`${method} ${path} requires a body`] : [];
    return this.errors(op.body.schema, body);
  }

  /** Problems with a 200 answer to `GET path`. */
  checkResponse(method: string, path: string, body: unknown): string[] {
    const op = this.find(method, path);
    if (!op?.ok) return [`${method} ${path} has no 200 response schema in ${this.name}`];
    return this.errors(op.ok, body);
  }

  /** Problems with `value` against a named schema (`VmConfig`, `SnapshotLoadParams`). */
  checkSchema(schemaName: string, value: unknown, kind: "openapi3" | "swagger2"): string[] {
    const pointer = kind === "openapi3" ? `${this.name}#/components/schemas/${schemaName}` : `${this.name}#/definitions/${schemaName}`;
    return this.errors({ $ref: pointer }, value);
  }

  private find(method: string, path: string): Operation | undefined {
    if (!path.startsWith(this.basePath)) return undefined;
    const specPath = path.slice(this.basePath.length) || "/";
    return this.operations.find((op) => op.method === method && templateMatches(op.template, specPath));
  }

  private errors(schema: unknown, value: unknown): string[] {
    let validate = this.compiled.get(schema);
    if (!validate) {
      validate = this.ajv.compile(schema as object);
      this.compiled.set(schema, validate);
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map((e) => `${e.instancePath || "(body)"} ${e.message}${e.params && "additionalProperty" in e.params ? ` '${e.params.additionalProperty}'` : ""}`);
  }
}

/** Cloud Hypervisor v53.0 spec, with the request rules of a target binary of version `targetMajor`. */
export function cloudHypervisorSpec(targetMajor = 53): SpecValidator {
  const doc = loadSpec(CH_SPEC_FILE);
  const schemas = doc.components.schemas;
  if (targetMajor < CH_RESTORE_RESUME_SINCE_MAJOR) {
    delete schemas.RestoreConfig.properties.resume;
    delete schemas.RestoreConfig.properties.memory_restore_mode;
  }
  strict(schemas);
  return new SpecValidator("ch", doc, "/api/v1", "openapi3");
}

/** Firecracker v1.16.1 spec with `deny_unknown_fields` everywhere and the mem_* rule of /snapshot/load. */
export function firecrackerSpec(): SpecValidator {
  const doc = loadSpec(FC_SPEC_FILE);
  const defs = doc.definitions;
  strict(defs);
  defs.SnapshotLoadParams.oneOf = [{ required: ["mem_file_path"] }, { required: ["mem_backend"] }];
  return new SpecValidator("fc", doc, "", "swagger2");
}

export function loadSpec(file: string): Record<string, any> {
  return parse(readFileSync(join(SPEC_DIR, file), "utf8")) as Record<string, any>;
}

/** `additionalProperties: false` on every object schema with `properties` that leaves it unset. */
function strict(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(strict);
  if (node === null || typeof node !== "object") return;
  const schema = node as Record<string, unknown>;
  if (schema.properties && typeof schema.properties === "object" && schema.additionalProperties === undefined) {
    schema.additionalProperties = false;
  }
  for (const value of Object.values(schema)) strict(value);
}

function listOperations(doc: Record<string, any>, kind: "openapi3" | "swagger2", id: string): Operation[] {
  const ops: Operation[] = [];
  const ref = (schema: any) => (schema?.$ref ? { $ref: `${id}${schema.$ref}` } : schema);
  for (const [template, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<Record<string, any>>(item)) {
      if (!["get", "put", "patch", "post", "delete"].includes(method)) continue;
      let body: Operation["body"];
      let ok: unknown;
      if (kind === "openapi3") {
        const schema = op.requestBody?.content?.["application/json"]?.schema;
        if (schema) body = { schema: ref(schema), required: op.requestBody.required === true };
        ok = ref(op.responses?.["200"]?.content?.["application/json"]?.schema);
      } else {
        const param = (op.parameters ?? []).find((p: any) => p.in === "body");
        if (param) body = { schema: ref(param.schema), required: param.required === true };
        ok = ref(op.responses?.["200"]?.schema);
      }
      ops.push({ method: method.toUpperCase(), template, ...(body ? { body } : {}), ...(ok ? { ok } : {}) });
    }
  }
  return ops;
}

function templateMatches(template: string, path: string): boolean {
  const pattern = template.replace(/[.]/g, "\\.").replace(/\{[^}]+\}/g, "[^/]+");
  return new RegExp(`^${pattern}$`).test(path);
}
