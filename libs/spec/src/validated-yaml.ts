import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { KernelBuildError } from '@linuxkit-kernels/errors';

const ajv = new Ajv({ allErrors: true, strict: false });
const compiled = new WeakMap<object, ValidateFunction>();

function describeSchemaError(error: ErrorObject): { path: string[]; text: string } {
  const at = error.instancePath.split('/').filter(Boolean);
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    return { path: [...at, extra], text: `unknown field '${extra}'` };
  }
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    return { path: at, text: `missing required field '${[...at, missing].join('.')}'` };
  }
  if (error.keyword === 'pattern') return { path: at, text: `must match ${(error.params as { pattern: string }).pattern}` };
  if (error.keyword === 'enum') return { path: at, text: `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` };
  return { path: at, text: error.message ?? error.keyword };
}

function valueAt(value: unknown, at: string[]): unknown {
  return at.reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), value);
}

/**
 * A oneOf over kinds (source: apt | kernel.org) reports every branch's complaints; keep only the
 * branch whose `kind` constant matches what the file says, so the user reads about their kind.
 */
function isOtherBranchError(error: ErrorObject, schema: object, value: unknown): boolean {
  const match = /^(.*)\/oneOf\/(\d+)\//.exec(error.schemaPath);
  if (!match) return false;
  const branches = valueAt(schema, [...match[1].replace(/^#\/?/, '').split('/').filter(Boolean), 'oneOf']) as Record<string, unknown>[] | undefined;
  const branchKind = (valueAt(branches?.[Number(match[2])], ['properties', 'kind', 'const']) as string | undefined) ?? undefined;
  const instancePath = error.instancePath.split('/').filter(Boolean);
  const depth = match[1].split('/properties/').length - 1;
  const kind = valueAt(value, [...instancePath.slice(0, depth), 'kind']);
  return branchKind !== undefined && kind !== undefined && kind !== branchKind;
}

/** Parses YAML and validates it against a JSON schema; every error names file:line and the field. */
export function parseValidatedYaml<T>(text: string, file: string, schema: object): T {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  if (document.errors.length > 0) {
    const first = document.errors[0];
    const line = lineCounter.linePos(first.pos[0]).line;
    throw new KernelBuildError(`${file}:${line}: not valid YAML: ${first.message.split('\n')[0]}`, 'fix the YAML syntax at that line');
  }
  const value = document.toJS();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new KernelBuildError(`${file}: must be a mapping of fields`, 'see the reference in README.md');
  }
  if (validate(value)) return value as T;

  const errors = validate.errors ?? [];
  const relevant = errors.filter((error) => error.keyword !== 'oneOf' && !isOtherBranchError(error, schema, value));
  const lines = (relevant.length > 0 ? relevant : errors).map((error) => {
    const { path: at, text: reason } = describeSchemaError(error);
    const line = lineOf(document, lineCounter, at);
    return `${file}:${line}: ${at.join('.') || '(top level)'}: ${reason}`;
  });
  const unique = [...new Set(lines)];
  throw new KernelBuildError(unique[0], 'see the reference in README.md', unique.length > 1 ? unique.slice(1).join('\n') : undefined);
}

function lineOf(document: ReturnType<typeof parseDocument>, lineCounter: LineCounter, at: string[]): number {
  for (let length = at.length; length > 0; length--) {
    const node = document.getIn(at.slice(0, length).map((key) => (/^\d+$/.test(key) ? Number(key) : key)), true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return 1;
}
