// A prediction as the code that makes it again: the seed documents' curl, Node.js and Python snippets
// (seeds/000), pointed at this server with this token (replicate-api.md §1). Pure: tested under Node.

export interface SnippetTarget {
  /** The server's origin, without `/v1`: `http://127.0.0.1:5000`. */
  readonly origin: string;
  readonly token: string;
  /** `owner/name`. */
  readonly model: string;
  readonly version: string;
  /** The prediction's input; image inputs are their URL strings already. */
  readonly input: Record<string, unknown>;
}

/** Seed 000's curl, with `$'…'` quoting: the body may hold any character. */
export function curlSnippet(t: SnippetTarget): string {
  const body = JSON.stringify({ version: t.version, input: t.input }, null, 2);
  return [
    'curl -s -X POST \\',
    `  -H "Authorization: Bearer ${t.token}" \\`,
    '  -H "Content-Type: application/json" \\',
    '  -H "Prefer: wait" \\',
    `  -d $'${body.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}' \\`,
    `  ${t.origin}/v1/predictions`,
  ].join('\n');
}

/** Seed 000's Node.js: the JS client has no base URL variable, so `baseUrl` is given (§1). */
export function nodeSnippet(t: SnippetTarget): string {
  const ext = extensionOf(t);
  return [
    'import { writeFile } from "fs/promises";',
    'import Replicate from "replicate";',
    `const replicate = new Replicate({ auth: ${JSON.stringify(t.token)}, baseUrl: ${JSON.stringify(`${t.origin}/v1`)} });`,
    '',
    `const input = ${literal(t.input, JS)};`,
    '',
    `const output = await replicate.run(${JSON.stringify(`${t.model}:${t.version}`)}, { input });`,
    'for (const [index, item] of Object.entries([output].flat())) {',
    `  await writeFile(\`output_\${index}.${ext}\`, item);`,
    '}',
    `//=> output_0.${ext} written to disk`,
  ].join('\n');
}

/** Seed 000's Python, on a client of this server: Python 1.x's base URL has no `/v1` (§1). */
export function pythonSnippet(t: SnippetTarget): string {
  const ext = extensionOf(t);
  return [
    'import replicate',
    '',
    `client = replicate.Client(api_token=${JSON.stringify(t.token)}, base_url=${JSON.stringify(t.origin)})`,
    '',
    `input = ${literal(t.input, PYTHON)}`,
    '',
    'output = client.run(',
    `    ${JSON.stringify(`${t.model}:${t.version}`)},`,
    '    input=input',
    ')',
    'if not isinstance(output, list):',
    '    output = [output]',
    'for index, item in enumerate(output):',
    `    with open(f"output_{index}.${ext}", "wb") as file:`,
    '        file.write(item.read())',
    `#=> output_0.${ext} written to disk`,
  ].join('\n');
}

/** What the outputs are: the prior's embeddings as JSON, else images in the chosen format (webp by default). */
function extensionOf(t: SnippetTarget): string {
  if (t.model === 'kandinsky/kandinsky-2.2-prior') return 'json';
  return typeof t.input.output_format === 'string' ? t.input.output_format : 'webp';
}

/** How a language writes what JSON writes differently: indentation, object keys, true, false and null. */
interface Dialect {
  readonly indent: string;
  key(k: string): string;
  readonly true: string;
  readonly false: string;
  readonly none: string;
}

const JS: Dialect = { indent: '  ', key: (k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)), true: 'true', false: 'false', none: 'null' };
const PYTHON: Dialect = { indent: '    ', key: (k) => JSON.stringify(k), true: 'True', false: 'False', none: 'None' };

/**
 * A JSON value as a JS object literal or a Python dict, one entry a line as the seeds write them: JSON's strings
 * and numbers are valid in both; only the keys and true/false/null differ.
 */
function literal(value: unknown, d: Dialect, depth = 1): string {
  const inner = d.indent.repeat(depth);
  const outer = d.indent.repeat(depth - 1);
  if (value === null || value === undefined) return d.none;
  if (value === true) return d.true;
  if (value === false) return d.false;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + literal(v, d, depth + 1)).join(',\n')}\n${outer}]`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([k, v]) => `${inner}${d.key(k)}: ${literal(v, d, depth + 1)}`).join(',\n')}\n${outer}}`;
  }
  return JSON.stringify(value);
}
