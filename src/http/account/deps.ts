import type { FastifyRequest } from 'fastify';
import type { AccountService } from '../../domain/account/index.js';
import type { SessionService } from '../../domain/sessions/index.js';
import type { IdentityService } from '../../domain/social/identities.js';
import type { AccountPolicy } from './policy.js';

/** What every Account API route file gets from `accountRoutes` (index.ts). */
export interface AccountRouteDeps {
  account: AccountService;
  sessions: SessionService;
  /** The caller's linked third-party accounts (the `identities` map of the account view). */
  identities: Pick<IdentityService, 'list'>;
  /** The named guard steps and the request context (policy.ts). */
  policy: AccountPolicy;
  /** A phone as a Logto client sends it (digits only) in the form the domain reads (logto-phones.ts). */
  phoneInput(value: string): string;
  /** Writes one `account_audit` entry for the caller of `request` (never values). */
  audit(request: FastifyRequest, action: string, fields: string[]): Promise<void>;
}
