import { ERROR_CODES, type ErrorCode } from '../../../errors/codes.js';
import { account } from './account.js';
import { links } from './links.js';
import { pages } from './pages.js';

/** The English API error messages, `error.<code>` → the message of the code table (src/errors/codes.ts, the source of truth). */
const errors = Object.fromEntries(Object.entries(ERROR_CODES).map(([code, { message }]) => [`error.${code}`, message])) as Record<`error.${ErrorCode}`, string>;

/** The English catalogue: the source language; every other catalogue has its keys. */
export const en = { ...pages, ...account, ...links, ...errors };
