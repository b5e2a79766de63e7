/**
 * Size and depth limits checked BEFORE a config document is parsed or walked. The schema
 * validator and the error renderer recurse; a 100,000-level nested document would otherwise
 * end in a `RangeError: Maximum call stack size exceeded` with a stack trace instead of a
 * config error, and a huge file would be read into memory whole. Real configs are a few KiB
 * and five levels deep (`$.nodes.amiSsmParameters.arm64`), so the limits are generous.
 */
import type { FieldProblem } from './errors.js';

/** Largest config document accepted, in bytes of UTF-8 text. */
export const MAX_CONFIG_BYTES = 262_144;
/** Deepest nesting of objects and arrays accepted (the top-level object is depth 1). */
export const MAX_CONFIG_DEPTH = 16;
/** Most values (objects, arrays, scalars) a parsed document may hold. */
export const MAX_CONFIG_VALUES = 20_000;

/**
 * Why the text of a config file is too big or too deeply nested to parse, or undefined.
 * One pass over the characters, no recursion: brackets inside strings do not count.
 */
export function configTextProblem(text: string): FieldProblem | undefined {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_CONFIG_BYTES) {
    return {
      path: '$',
      message: `the document is ${bytes} bytes, over the ${MAX_CONFIG_BYTES}-byte limit for a config: check that this is the k3s-burst config file`,
    };
  }
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > MAX_CONFIG_DEPTH) return depthProblem();
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return undefined;
}

/**
 * Why an already-parsed value (an inline scenario config, the Lambdas' `CONFIG_JSON`) is too
 * deeply nested or too large to validate, or undefined. Iterative, bounded by the limits.
 */
export function configValueProblem(value: unknown): FieldProblem | undefined {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 1 }];
  let count = 0;
  while (stack.length > 0) {
    const { value: v, depth } = stack.pop() as { value: unknown; depth: number };
    count++;
    if (count > MAX_CONFIG_VALUES) {
      return {
        path: '$',
        message: `the document holds more than ${MAX_CONFIG_VALUES} values, over the limit for a config: check that this is the k3s-burst config`,
      };
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth > MAX_CONFIG_DEPTH) return depthProblem();
    const children = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
    for (const child of children) stack.push({ value: child, depth: depth + 1 });
  }
  return undefined;
}

function depthProblem(): FieldProblem {
  return {
    path: '$',
    message: `objects and arrays are nested more than ${MAX_CONFIG_DEPTH} levels deep, over the limit for a config (a valid one nests at most 4): check that this is the k3s-burst config file`,
  };
}
