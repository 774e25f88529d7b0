// Lists import cycles among src/ modules (type-only imports included; `runtime` as the first argument skips them)
// and imports from one surface (http/<surface>/, oidc/) into another. Exit code 1 when there is any.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname, resolve, relative } from 'node:path';
const root = resolve(new URL('..', import.meta.url).pathname, 'src');
const files = [];
(function walk(d) { for (const f of readdirSync(d)) { const p = join(d, f); if (statSync(p).isDirectory()) walk(p); else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) files.push(p); } })(root);
const graph = new Map();
for (const f of files) {
  const text = readFileSync(f, 'utf8');
  const deps = new Set();
  for (const m of text.matchAll(/(?:import|export)\s+(type\s+)?[^'";]*?from\s+'(\.[^']+)'/g)) {
    let target = resolve(dirname(f), m[2]).replace(/\.js$/, '.ts');
    if (!target.endsWith('.ts')) target += '.ts';
    if (process.argv[2] === 'runtime' && m[1]) continue;
    deps.add(target);
  }
  graph.set(f, deps);
}
// Tarjan SCC
let index = 0; const stack = []; const idx = new Map(); const low = new Map(); const on = new Set(); const sccs = [];
function strong(v) { idx.set(v, index); low.set(v, index); index++; stack.push(v); on.add(v);
  for (const w of graph.get(v) ?? []) { if (!graph.has(w)) continue; if (!idx.has(w)) { strong(w); low.set(v, Math.min(low.get(v), low.get(w))); } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w))); }
  if (low.get(v) === idx.get(v)) { const c = []; let w; do { w = stack.pop(); on.delete(w); c.push(relative(root, w)); } while (w !== v); if (c.length > 1) sccs.push(c); } }
for (const v of graph.keys()) if (!idx.has(v)) strong(v);
console.log(sccs.length, 'cycles'); for (const c of sccs) console.log(' -', c.join(' , '));
let crossings = 0;
// surfaces importing each other
for (const [f, deps] of graph) { const a = relative(root, f).split('/'); for (const d of deps) { const b = relative(root, d).split('/');
  const surf = (p) => p[0] === 'http' ? 'http/' + p[1] : p[0] === 'oidc' ? 'oidc' : null;
  const sa = surf(a), sb = surf(b); if (sa && sb && sa !== sb && !b[1]?.endsWith('.ts')) { crossings++; console.log('surface import:', relative(root, f), '->', relative(root, d)); } } }
process.exitCode = sccs.length > 0 || crossings > 0 ? 1 : 0;
