/**
 * node-oidc-provider 9 prints `oidc-provider WARNING: Unsupported runtime. Use Node.js v22.x LTS, or a
 * later LTS release.` once, when it is first imported on Node 20 — on every command, start and test run
 * (issue 15). Tessera supports Node 20.19+ on purpose (README: requirements; CI runs on it), so that one
 * line is dropped: this module, imported before anything else by the entry points (src/app.ts,
 * src/cli/main.ts), lets console.warn skip exactly that message, once, and restores console.warn when it
 * has seen it or after start-up. Every other warning passes through untouched.
 */
const original = console.warn;
const RUNTIME_WARNING = 'oidc-provider WARNING: Unsupported runtime.';

console.warn = function quietRuntimeWarning(...args: unknown[]): void {
  if (typeof args[0] === 'string' && args[0].includes(RUNTIME_WARNING)) {
    console.warn = original;
    return;
  }
  original.apply(console, args);
};
setTimeout(() => {
  if (console.warn !== original && console.warn.name === 'quietRuntimeWarning') console.warn = original;
}, 10_000).unref();

export {};
