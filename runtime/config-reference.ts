import { z } from 'zod';
import { configSchema } from './config-schema.ts';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  format?: string;
}

/** The configuration reference as a Markdown table, generated from the schema so it cannot drift. */
export function configReference(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const rows: string[] = ['| key | type | default | meaning |', '| --- | --- | --- | --- |'];
  const walk = (node: JsonSchema, path: string[]) => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const here = [...path, key];
      if (child.properties) {
        walk(child, here);
        continue;
      }
      rows.push(`| \`${here.join('.')}\` | ${typeOf(child)} | ${child.default === undefined ? '' : `\`${JSON.stringify(child.default)}\``} | ${child.description ?? ''} |`);
    }
  };
  walk(schema, []);
  return rows.join('\n');
}

function typeOf(node: JsonSchema): string {
  if (node.enum) return node.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (node.type === 'array') return `list of ${typeOf(node.items ?? {})}`;
  if (node.type === 'integer') return `integer ${node.minimum ?? ''}…${node.maximum ?? ''}`;
  if (node.format === 'uri') return 'URL';
  return Array.isArray(node.type) ? node.type.join(' or ') : (node.type ?? 'any');
}

export const README_MARKERS = { start: '<!-- config-reference:start -->', end: '<!-- config-reference:end -->' };

/** The README text with the generated reference between its markers. */
export function withConfigReference(readme: string, reference: string): string {
  const start = readme.indexOf(README_MARKERS.start);
  const end = readme.indexOf(README_MARKERS.end);
  if (start < 0 || end < start) throw new Error(`README.md lacks the markers ${README_MARKERS.start} … ${README_MARKERS.end}`);
  return `${readme.slice(0, start + README_MARKERS.start.length)}\n${reference}\n${readme.slice(end)}`;
}
