// A small JSON Schema validator: the subset OpenAPI 3.1 response schemas use.
// Keywords: $ref (local "#/..." pointers), type (a name or an array of names, "integer"
// included), nullable (OpenAPI 3.0 style), enum, const, properties, required,
// additionalProperties (boolean or schema), items, allOf, anyOf, oneOf, not, minimum, maximum,
// exclusiveMinimum, exclusiveMaximum, minLength, maxLength, pattern, minItems, maxItems.
// Other keywords (format, description, examples, ...) are annotations and are ignored.
// validate(schema, value, root) returns a list of error strings, empty when the value conforms.

function typeOf(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v; // 'object', 'string', 'number', 'boolean'
}

function hasType(v, t) {
  switch (t) {
    case 'null': return v === null;
    case 'array': return Array.isArray(v);
    case 'object': return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'integer': return typeof v === 'number' && Number.isInteger(v);
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'string': return typeof v === 'string';
    case 'boolean': return typeof v === 'boolean';
    default: return false;
  }
}

/** Resolves a local reference like "#/components/schemas/Job". */
export function resolveRef(root, ref) {
  if (!ref.startsWith('#')) throw new Error(`only local $ref supported, got ${ref}`);
  let node = root;
  for (const raw of ref.slice(1).split('/').filter(Boolean)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = node?.[key];
    if (node === undefined) throw new Error(`unresolvable $ref ${ref}`);
  }
  return node;
}

const deepEqual = (a, b) => JSON.stringify(a) === JSON.stringify(b);

export function validate(schema, value, root = schema, path = '$', depth = 0) {
  if (depth > 64) return [`${path}: schema nesting too deep (recursive $ref?)`];
  if (schema === true || schema === undefined) return [];
  if (schema === false) return [`${path}: no value allowed here`];
  const errors = [];
  if (schema.$ref) {
    errors.push(...validate(resolveRef(root, schema.$ref), value, root, path, depth + 1));
  }
  if (schema.type !== undefined) {
    let types = Array.isArray(schema.type) ? [...schema.type] : [schema.type];
    if (schema.nullable === true) types.push('null');
    if (!types.some((t) => hasType(value, t))) {
      errors.push(`${path}: expected type ${types.join('|')}, got ${typeOf(value)} ${JSON.stringify(value)?.slice(0, 80)}`);
      return errors; // the rest would only add noise
    }
  } else if (schema.nullable === true && value === null) {
    return errors;
  }
  if (schema.enum && !schema.enum.some((e) => deepEqual(e, value)) && !(schema.nullable && value === null)) {
    errors.push(`${path}: ${JSON.stringify(value)} not in enum ${JSON.stringify(schema.enum)}`);
  }
  if ('const' in schema && !deepEqual(schema.const, value)) {
    errors.push(`${path}: expected const ${JSON.stringify(schema.const)}, got ${JSON.stringify(value)}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${path}: ${value} < minimum ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${path}: ${value} > maximum ${schema.maximum}`);
    if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) errors.push(`${path}: ${value} <= exclusiveMinimum ${schema.exclusiveMinimum}`);
    if (typeof schema.exclusiveMaximum === 'number' && value >= schema.exclusiveMaximum) errors.push(`${path}: ${value} >= exclusiveMaximum ${schema.exclusiveMaximum}`);
  }
  if (typeof value === 'string') {
    const len = [...value].length;
    if (schema.minLength !== undefined && len < schema.minLength) errors.push(`${path}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && len > schema.maxLength) errors.push(`${path}: longer than ${schema.maxLength}`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) errors.push(`${path}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push(`${path}: fewer than ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errors.push(`${path}: more than ${schema.maxItems} items`);
    if (schema.items !== undefined && !Array.isArray(schema.items)) {
      value.forEach((item, i) => errors.push(...validate(schema.items, item, root, `${path}[${i}]`, depth + 1)));
    }
  }
  if (hasType(value, 'object')) {
    for (const key of schema.required ?? []) {
      if (!(key in value)) errors.push(`${path}: missing required property ${key}`);
    }
    const props = schema.properties ?? {};
    for (const [key, v] of Object.entries(value)) {
      if (key in props) {
        errors.push(...validate(props[key], v, root, `${path}.${key}`, depth + 1));
      } else if (schema.additionalProperties === false) {
        errors.push(`${path}: property ${key} not allowed`);
      } else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        errors.push(...validate(schema.additionalProperties, v, root, `${path}.${key}`, depth + 1));
      }
    }
  }
  for (const sub of schema.allOf ?? []) errors.push(...validate(sub, value, root, path, depth + 1));
  if (schema.anyOf) {
    const results = schema.anyOf.map((sub) => validate(sub, value, root, path, depth + 1));
    if (!results.some((r) => r.length === 0)) {
      errors.push(`${path}: matches none of anyOf: ${results.map((r) => r.join('; ')).join(' | ')}`);
    }
  }
  if (schema.oneOf) {
    const results = schema.oneOf.map((sub) => validate(sub, value, root, path, depth + 1));
    const ok = results.filter((r) => r.length === 0).length;
    if (ok !== 1) {
      errors.push(`${path}: matches ${ok} of oneOf (needs exactly 1)${ok === 0 ? ': ' + results.map((r) => r.join('; ')).join(' | ') : ''}`);
    }
  }
  if (schema.not && validate(schema.not, value, root, path, depth + 1).length === 0) {
    errors.push(`${path}: matches a schema under "not"`);
  }
  return errors;
}

/**
 * Object properties in `value` that `schema` does not declare (by `properties`, or an explicit
 * `additionalProperties` schema/true), as paths: a response validates trivially against `{}`,
 * so this checks the description actually documents what is returned. allOf members are merged;
 * for anyOf/oneOf the first branch that validates is followed.
 */
export function undeclaredProperties(schema, value, root = schema, path = '$', depth = 0) {
  if (depth > 64 || schema === true || schema === undefined || schema === false) return [];
  if (schema.$ref) schema = { ...resolveRef(root, schema.$ref), ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$ref')) };
  const branches = [schema, ...(schema.allOf ?? [])].map((s) => (s.$ref ? resolveRef(root, s.$ref) : s));
  for (const key of ['anyOf', 'oneOf']) {
    for (const b of [...branches]) {
      if (!b[key]) continue;
      const match = b[key].find((sub) => validate(sub, value, root).length === 0);
      if (match) branches.push(match.$ref ? resolveRef(root, match.$ref) : match);
    }
  }
  const out = [];
  if (Array.isArray(value)) {
    const items = branches.find((b) => b.items && !Array.isArray(b.items))?.items;
    value.forEach((v, i) => out.push(...(items ? undeclaredProperties(items, v, root, `${path}[${i}]`, depth + 1) : [])));
    return out;
  }
  if (value === null || typeof value !== 'object') return out;
  for (const [k, v] of Object.entries(value)) {
    const declaring = branches.find((b) => b.properties && k in b.properties);
    if (declaring) {
      out.push(...undeclaredProperties(declaring.properties[k], v, root, `${path}.${k}`, depth + 1));
      continue;
    }
    const extra = branches.find((b) => b.additionalProperties !== undefined && b.additionalProperties !== false);
    if (extra) {
      if (typeof extra.additionalProperties === 'object') out.push(...undeclaredProperties(extra.additionalProperties, v, root, `${path}.${k}`, depth + 1));
      continue;
    }
    if (branches.some((b) => b.allOf || b.anyOf || b.oneOf) && branches.every((b) => !b.properties)) continue;
    out.push(`${path}.${k}`);
  }
  return out;
}
