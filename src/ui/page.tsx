/**
 * The building blocks of every hosted page (issue 14 §2): the layout with the brand, accessible form
 * fields and alerts. Pages are Preact components rendered to a string on the server
 * ({@link renderPage}); Preact escapes every text and attribute value, so no page builds HTML by hand.
 */
import type { ComponentChildren, JSX } from 'preact';
import { h } from 'preact';
import { renderToString } from 'preact-render-to-string';
import type { Locale, Translate } from '../i18n/index.js';
import type { Brand } from './brand.js';

/** What every page needs: the language it is in, its translate function and the brand. */
export interface PageContext {
  locale: Locale;
  t: Translate;
  brand: Brand;
}

/** Renders a page component to a complete HTML document. */
export function renderPage(page: JSX.Element): string {
  return `<!DOCTYPE html>\n${renderToString(page)}`;
}

/** Props of {@link Page}. */
export interface PageProps {
  ctx: PageContext;
  /** The page heading, also the document title (with the product name). */
  title: string;
  /** A line under the heading (e.g. "to continue to My App"). */
  lead?: string | undefined;
  /** A wider card (account center). */
  wide?: boolean;
  /** Same-origin scripts to load at the end of the body (the pages' CSP then allows 'self' scripts). */
  scripts?: string[];
  children?: ComponentChildren;
}

/**
 * The common layout: a banner with the logo (or the product name), the main card with the page's
 * `h1`, and a footer with the support link. Landmarks and `lang` are set for assistive technology.
 */
export function Page({ ctx, title, lead, wide, scripts, children }: PageProps): JSX.Element {
  const { brand, t, locale } = ctx;
  return (
    <html lang={locale}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>{`${title} · ${brand.productName}`}</title>
        <link rel="stylesheet" href={brand.stylesheetPath} />
      </head>
      <body>
        <header class="brand">{brand.logoUrl ? <img src={brand.logoUrl} alt={brand.productName} /> : <span>{brand.productName}</span>}</header>
        <main class={wide ? 'wide' : undefined}>
          <h1>{title}</h1>
          {lead ? <p class="lead">{lead}</p> : null}
          {children}
        </main>
        <footer>
          <ul>
            <li>{t('layout.poweredBy', { product: brand.productName })}</li>
            {brand.supportUrl ? (
              <li>
                <a href={brand.supportUrl}>{t('layout.support')}</a>
              </li>
            ) : null}
          </ul>
        </footer>
        {(scripts ?? []).map((src) => (
          <script src={src} />
        ))}
      </body>
    </html>
  );
}

/** A page-level message: `role="alert"` for errors (read out at once), `role="status"` for notices. */
export function Alert({ message, kind = 'error', id }: { message?: string | undefined; kind?: 'error' | 'notice'; id?: string }): JSX.Element | null {
  if (!message) return null;
  return (
    <p class={kind === 'error' ? 'alert' : 'notice'} role={kind === 'error' ? 'alert' : 'status'} id={id}>
      {message}
    </p>
  );
}

/** Hidden form fields (CSRF token, pending sign-in id …). */
export function Hidden({ fields }: { fields: Record<string, string | undefined> }): JSX.Element {
  return (
    <>
      {Object.entries(fields).map(([name, value]) => (value === undefined ? null : <input type="hidden" name={name} value={value} />))}
    </>
  );
}

/** Props of {@link Field}: the input's attributes Tessera's pages use, plus its label, hint and error. */
export interface FieldProps {
  /** Element id, also the form field's name unless `name` is given. */
  id: string;
  name?: string;
  label: string;
  type?: 'text' | 'password' | 'email' | 'tel' | 'url';
  value?: string | undefined;
  autocomplete?: string;
  required?: boolean;
  autofocus?: boolean;
  inputmode?: 'text' | 'numeric' | 'email' | 'tel';
  maxlength?: number;
  minlength?: number;
  pattern?: string;
  autocapitalize?: 'off' | 'characters';
  spellcheck?: boolean;
  /** A hint under the field (`aria-describedby`). */
  hint?: string | undefined;
  /** The field's error: sets `aria-invalid` and ties the message with `aria-describedby` (WCAG 3.3.1). */
  error?: string | undefined;
}

/** A labelled input with its hint and error tied to it for assistive technology. */
export function Field({ id, name, label, hint, error, type = 'text', spellcheck, ...input }: FieldProps): JSX.Element {
  const describedBy = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <>
      <label for={id}>{label}</label>
      {h('input', { id, name: name ?? id, type, ...input, spellcheck, 'aria-invalid': error ? 'true' : undefined, 'aria-describedby': describedBy })}
      {hint ? (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </>
  );
}
