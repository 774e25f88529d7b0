/**
 * Authing's request headers a browser must be allowed to send (shared/specs/authing.md §1.2): the CORS
 * answer of configured origins (`authing.corsOrigins`, with credentials; app.ts, which loads the rest of the
 * Authing surface only when it is configured).
 */
export const AUTHING_CORS_HEADERS = [
  'content-type', 'authorization', 'x-authing-app-id', 'x-authing-userpool-id', 'x-authing-app-tenant-id',
  'x-authing-request-from', 'x-authing-sdk-version', 'x-authing-lang',
];
