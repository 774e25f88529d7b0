/** Where a decoded value holds a NUL character (U+0000), as `{path, code, message}`; see {@link findNulIn}. */
export interface NulIssue {
  path: string;
  code: 'invalid_string' | 'invalid_key';
  message: string;
}

/**
 * The first place a value holds a NUL character (U+0000), in a string or an object key, walking arrays
 * and objects iteratively (a deeply nested value cannot overflow the stack) and visiting each value once.
 * PostgreSQL `text` cannot store NUL (error 22021, which would surface as a 500), and no identifier,
 * name, code or secret of ours contains one. Run it after **every** decoding step: percent-decoding
 * (the HTTP layer does it for every request) and JSON carried inside a decoded value (LeanCloud `where`).
 * @param root the name of `value`'s location (`body`, `query.where`…), prefixed to the path found
 * @returns the offending location (`body.profile.name`…), or undefined
 */
export function findNulIn(value: unknown, root: string): NulIssue | undefined {
  const stack: Array<[unknown, string]> = [[value, root]];
  while (stack.length > 0) {
    const [current, path] = stack.pop()!;
    if (typeof current === 'string') {
      if (current.includes('\0')) return { path, code: 'invalid_string', message: 'NUL characters are not allowed' };
    } else if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) stack.push([current[i], `${path}.${i}`]);
    } else if (current !== null && typeof current === 'object') {
      for (const [key, child] of Object.entries(current)) {
        if (key.includes('\0')) return { path, code: 'invalid_key', message: 'NUL characters are not allowed' };
        stack.push([child, `${path}.${key}`]);
      }
    }
  }
  return undefined;
}
