/**
 * English texts of the pages opened from links in messages: the `/1.1` password reset and email
 * verification pages (LeanCloud) and `/api/auth/verify-email`. The Chinese section must have every key.
 */
export const links = {
  'links.reset.title': 'Reset your password',
  'links.reset.lead': 'Enter the code from the email and choose a new password.',
  'links.reset.email': 'Email',
  'links.reset.code': 'Code',
  'links.reset.codeHint': 'The 6-digit code from the email.',
  'links.reset.password': 'New password',
  'links.reset.submit': 'Set password',
  'links.reset.rejected': 'This password is not allowed (too short, too common, or contains your name). Choose another.',
  'links.reset.rateLimited': 'Too many attempts. Wait a minute and try again.',
  'links.reset.badCode': 'The code is wrong or has expired. Check the latest email, or request a new one.',
  'links.reset.doneTitle': 'Password changed',
  'links.reset.done': 'Your password has been changed. You can now log in with it.',

  'links.verify.doneTitle': 'Email verified',
  'links.verify.done': 'Your email address is verified. You can close this page.',
  'links.verify.failedTitle': 'This link does not work',
  'links.verify.failed': 'The link is invalid, expired or already used. Request a new verification email.',
  'links.verify.expired': 'The link has expired. Request a new verification email and use its link within 10 minutes.',
  'links.verify.invalid': 'The link is invalid or has already been used. Request a new verification email if your address is still unverified.',
} as const;
