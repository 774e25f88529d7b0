import { createHash } from 'node:crypto';
import type { Config } from '../config/index.js';

/**
 * The branding of every hosted page (issue 14 §5): product name, logo, primary colour and support
 * link from `config.ui`, and the one stylesheet all pages share, generated from them at start-up and
 * served at {@link Brand.stylesheetPath} (a content hash in the path, so it may be cached for a year and
 * the pages' CSP needs no `'unsafe-inline'` for styles).
 */
export interface Brand {
  productName: string;
  /** Absolute URL or same-origin path of the logo; absent = the product name as text. */
  logoUrl?: string;
  /** `#rrggbb`. */
  primaryColor: string;
  /** `#000000` or `#ffffff`, whichever contrasts more with the primary colour (WCAG 2.2 relative luminance). */
  onPrimaryColor: string;
  supportUrl?: string;
  /** Same-origin path of the stylesheet, `/ui/style-<hash>.css`. */
  stylesheetPath: string;
  /** The stylesheet's text. */
  stylesheet: string;
  /** The logo's origin when it is on another site (added to the pages' CSP `img-src`), else undefined. */
  logoOrigin?: string;
}

/** WCAG 2.2 relative luminance of a `#rrggbb` colour (0 = black, 1 = white). */
export function relativeLuminance(hex: string): number {
  const channel = (i: number) => {
    const c = parseInt(hex.slice(1 + 2 * i, 3 + 2 * i), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
}

/** WCAG contrast ratio of two `#rrggbb` colours (1 … 21). */
export function contrastRatio(a: string, b: string): number {
  const [hi, lo] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/**
 * The primary colour for text and links on the white card: the configured one when it reaches 4.5:1
 * against white (WCAG 1.4.3 AA), else darkened step by step until it does.
 */
function readableOnWhite(hex: string): string {
  let [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
  let colour = hex;
  while (contrastRatio(colour, '#ffffff') < 4.5) {
    [r, g, b] = [r, g, b].map((c) => Math.floor(c * 0.9)) as [number, number, number];
    colour = `#${[r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('')}`;
  }
  return colour;
}

function stylesheetFor(primary: string, onPrimary: string): string {
  const link = readableOnWhite(primary);
  return `:root{--primary:${primary};--on-primary:${onPrimary};--link:${link};--text:#1d1d1f;--muted:#595959;--border:#8a8a8e;--error:#b00020;--error-bg:#fdecee;--ok:#1b5e20;--ok-bg:#e8f5e9}
*{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;color:var(--text);background:#f2f2f5;line-height:1.5}
body{margin:0;padding:32px 16px;min-height:100vh;display:flex;flex-direction:column;align-items:center}
header.brand{margin-bottom:16px;text-align:center;font-weight:600;font-size:1.1em}
header.brand img{max-height:48px;max-width:200px}
main{width:100%;max-width:400px;background:#fff;border-radius:10px;padding:24px 28px;box-shadow:0 1px 3px rgba(0,0,0,.18)}
main.wide{max-width:720px}
h1{font-size:1.45em;font-weight:600;margin:0 0 6px}
h2{font-size:1.1em;margin:24px 0 8px}
p{margin:8px 0}
.lead{color:var(--muted);margin-bottom:16px}
label{display:block;margin:14px 0 4px;font-weight:500}
input[type=text],input[type=password],input[type=email],input[type=tel],input[type=url],textarea,select{width:100%;padding:10px;border:1px solid var(--border);border-radius:6px;font:inherit;background:#fff;color:var(--text)}
input[aria-invalid=true]{border-color:var(--error);border-width:2px}
:focus-visible{outline:3px solid var(--primary);outline-offset:2px}
.hint{color:var(--muted);font-size:.9em;margin:4px 0 0}
.field-error{color:var(--error);font-size:.9em;margin:4px 0 0}
button,.button{display:block;margin-top:18px;width:100%;padding:11px;border:0;border-radius:6px;background:var(--primary);color:var(--on-primary);font:inherit;font-weight:600;cursor:pointer;text-align:center;text-decoration:none}
button.secondary,.button.secondary{background:#e4e4e8;color:var(--text)}
button.danger{background:var(--error);color:#fff}
button.inline{display:inline-block;width:auto;margin:0;padding:6px 12px;font-size:.9em}
a{color:var(--link);text-decoration:underline}
.alert{color:var(--error);background:var(--error-bg);padding:10px 12px;border-radius:6px;margin:12px 0}
.notice{color:var(--ok);background:var(--ok-bg);padding:10px 12px;border-radius:6px;margin:12px 0}
.alt{margin-top:18px;padding-top:14px;border-top:1px solid #ddd}
.alt p{margin:6px 0}
.social a{display:block;padding:10px;border:1px solid var(--border);border-radius:6px;text-align:center;margin-top:10px;color:var(--text);text-decoration:none}
.captcha img{display:block;margin:6px 0;border:1px solid #ddd;border-radius:4px}
.qr img{display:block;margin:8px auto;width:200px;height:200px}
code,.codes{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.codes{display:grid;grid-template-columns:repeat(2,1fr);gap:6px;padding:0;list-style:none}
.codes li{background:#f2f2f5;padding:6px;border-radius:4px;text-align:center}
dl{margin:12px 0}dt{font-weight:600}dd{margin:0 0 8px;word-break:break-all}
table{width:100%;border-collapse:collapse;margin:8px 0}th,td{text-align:left;padding:8px 6px;border-bottom:1px solid #ddd;vertical-align:top}
nav.tabs ul{list-style:none;display:flex;flex-wrap:wrap;gap:4px 14px;padding:0;margin:0 0 12px}
nav.tabs a[aria-current=page]{font-weight:700}
footer{margin-top:20px;font-size:.9em;color:var(--muted);text-align:center}
footer a{color:var(--muted)}
footer ul{list-style:none;padding:0;margin:0;display:flex;gap:16px;justify-content:center;flex-wrap:wrap}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:480px){body{padding:16px 8px}main{padding:18px 16px}}
`;
}

/** The {@link Brand} of `config.ui`. */
export function brandOf(ui: Config['ui']): Brand {
  const onPrimaryColor = contrastRatio(ui.primaryColor, '#000000') >= contrastRatio(ui.primaryColor, '#ffffff') ? '#000000' : '#ffffff';
  const stylesheet = stylesheetFor(ui.primaryColor, onPrimaryColor);
  const hash = createHash('sha256').update(stylesheet).digest('base64url').slice(0, 16);
  const logoOrigin = ui.logoUrl && /^https?:/.test(ui.logoUrl) ? new URL(ui.logoUrl).origin : undefined;
  return {
    productName: ui.productName,
    primaryColor: ui.primaryColor,
    onPrimaryColor,
    stylesheet,
    stylesheetPath: `/ui/style-${hash}.css`,
    ...(ui.logoUrl ? { logoUrl: ui.logoUrl } : {}),
    ...(ui.supportUrl ? { supportUrl: ui.supportUrl } : {}),
    ...(logoOrigin ? { logoOrigin } : {}),
  };
}
