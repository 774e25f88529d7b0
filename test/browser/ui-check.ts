import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

/**
 * Accessibility and screenshots of hosted pages in Chromium (issue 14 "Done when"): axe-core with 0
 * violations at 1280 px and at 390 px wide, and a full-page screenshot at each width under
 * `test-results/` (ignored by git).
 */

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Where screenshots go (`test-results/` at the repository root). */
export const RESULTS_DIR = new URL('../../test-results/', import.meta.url);

/** The widths every page is checked at, CSS pixels. */
export const WIDTHS = [1280, 390] as const;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown; failureSummary?: string }>;
}

/**
 * Runs axe-core (WCAG 2.0/2.1/2.2 A and AA rules and best practices) on the page as it is now and returns
 * its violations, one line each. axe is evaluated through the DevTools protocol, so the page's CSP
 * (no inline or foreign script) does not block it.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  const loaded = await page.evaluate(() => typeof (globalThis as { axe?: unknown }).axe !== 'undefined');
  if (!loaded) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: Document, options: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } });
    return result.violations;
  });
  return violations.map(
    (v) => `${v.id} (${v.impact ?? 'n/a'}): ${v.help} — ${v.nodes.map((n) => `${JSON.stringify(n.target)} ${n.failureSummary ?? ''}`.trim()).join(' | ')}`,
  );
}

/**
 * Checks the page now shown at both {@link WIDTHS}: 0 axe violations at each, and a screenshot
 * `test-results/<name>.<width>.png` (name it with the language, e.g. `sign-in.zh-CN`). Restores the
 * original viewport.
 */
export async function checkPage(page: Page, name: string): Promise<void> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const original = page.viewportSize() ?? { width: 1280, height: 800 };
  try {
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 800 });
      const violations = await axeViolations(page);
      expect(violations, `axe violations on ${name} at ${width}px`).toEqual([]);
      await page.screenshot({ path: new URL(`${name}.${width}.png`, RESULTS_DIR).pathname, fullPage: true });
    }
  } finally {
    await page.setViewportSize(original);
  }
}
