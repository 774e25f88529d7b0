import type { ErrorCode } from '../../../errors/codes.js';
import { account } from './account.js';
import { errors } from './errors.js';
import { links } from './links.js';
import { pages } from './pages.js';

/** The Simplified Chinese catalogue: the keys of the English one (test/i18n.test.ts checks none is missing). */
export const zhCN = {
  ...pages,
  ...account,
  ...links,
  ...(Object.fromEntries(Object.entries(errors).map(([code, message]) => [`error.${code}`, message])) as Record<`error.${ErrorCode}`, string>),
};
