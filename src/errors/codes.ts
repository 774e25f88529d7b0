/**
 * The one table of error codes. Every `AppError` code maps here to its HTTP status and default
 * (English) message; the status is never chosen where the error is thrown (DESIGN.md, "Errors").
 * Codes are stable API: SDK users `switch` on them. Add new codes here, never rename old ones.
 */
export const ERROR_CODES = {
  // request / transport
  'request.invalid': { status: 400, message: 'The request is invalid.' },
  'request.empty_update': { status: 422, message: 'The request changes nothing: give at least one field.' },
  'request.malformed_json': { status: 400, message: 'The request body is not valid JSON.' },
  'request.body_too_large': { status: 413, message: 'The request body is too large.' },
  'request.unsupported_media_type': { status: 415, message: 'The request content type is not supported.' },
  'request.not_found': { status: 404, message: 'No such route.' },
  'request.method_not_allowed': { status: 405, message: 'Method not allowed.' },
  'request.rate_limited': { status: 429, message: 'Too many requests; try again later.' },
  'internal.error': { status: 500, message: 'Internal server error.' },
  'internal.unavailable': { status: 503, message: 'The service is not available.' },

  // caller authentication (bearer credentials)
  'auth.unauthorized': { status: 401, message: 'A valid bearer token is required.' },
  'auth.invalid_credentials': { status: 401, message: 'The identifier or password is incorrect.' },
  'auth.too_many_failures': {
    status: 429,
    message: 'Too many failed sign-in attempts; the account is locked for a while.',
  },
  'auth.user_suspended': { status: 403, message: 'This account is suspended.' },
  'auth.forbidden': { status: 403, message: 'The access token does not grant this operation.' },
  'auth.identifier_required': {
    status: 400,
    message: 'Exactly one of username, email or phone is required.',
  },

  // users
  'user.not_found': { status: 404, message: 'User not found.' },
  'user.username_taken': { status: 409, message: 'This username is already in use.' },
  'user.email_taken': { status: 409, message: 'This email address is already in use.' },
  'user.phone_taken': { status: 409, message: 'This phone number is already in use.' },
  'user.invalid_username': { status: 400, message: 'The username is not valid.' },
  'user.invalid_email': { status: 400, message: 'The email address is not valid.' },
  'user.invalid_phone': { status: 400, message: 'The phone number is not valid.' },
  'user.identifier_required': {
    status: 400,
    message: 'A username, email address or phone number is required.',
  },
  'user.password_required': { status: 400, message: 'A password is required.' },
  'user.password_mismatch': { status: 422, message: 'The password does not match.' },

  // passwords
  'password.rejected': { status: 422, message: 'The password does not meet the password policy.' },

  // sessions
  'session.not_found': { status: 404, message: 'Session not found.' },

  // sign-in rules
  'auth.email_not_verified': { status: 403, message: 'The email address must be verified before signing in.' },

  // connectors (email, SMS)
  'connector.delivery_failed': { status: 502, message: 'The message could not be delivered; try again later.' },

  // verification codes and records
  'verification.not_found': { status: 404, message: 'Verification record not found or expired.' },
  'verification.code_mismatch': { status: 400, message: 'The verification code is incorrect.' },
  'verification.code_expired': { status: 400, message: 'The verification code has expired; request a new one.' },
  'verification.too_many_attempts': {
    status: 400,
    message: 'Too many wrong codes; request a new one.',
  },
  'verification.resend_too_soon': { status: 429, message: 'A code was sent recently; wait before requesting another.' },
  'verification.not_verified': { status: 400, message: 'The verification record has not been verified.' },
  'verification.already_used': { status: 400, message: 'The verification record has already been used.' },
  'verification.purpose_mismatch': { status: 400, message: 'The verification record was issued for another purpose.' },

  // applications (OAuth clients)
  // webhooks and the audit log (issue 20)
  'hook.not_found': { status: 404, message: 'Webhook not found.' },
  'hook.events_required': { status: 400, message: 'Give at least one event for the webhook.' },
  'hook.invalid_url': { status: 400, message: 'The webhook URL must be an http or https URL without credentials.' },
  'hook.denied_address': { status: 422, message: 'The webhook URL points at an address range that webhooks may not reach.' },
  'hook.endpoint_error': { status: 422, message: 'The endpoint answered the test delivery with an error status.' },
  'hook.test_failed': { status: 422, message: 'The test delivery could not be sent.' },
  'log.not_found': { status: 404, message: 'Log entry not found.' },
  'log.invalid_time_window': { status: 400, message: 'end_time must not be before start_time.' },
  // authorization: API resources, permissions and roles (issue 18)
  'resource.not_found': { status: 404, message: 'API resource not found.' },
  'resource.indicator_taken': { status: 422, message: 'An API resource with this indicator already exists.' },
  'resource.invalid_indicator': { status: 400, message: 'The resource indicator must be an absolute URI without a fragment.' },
  'resource.management_api_read_only': { status: 400, message: 'The Management API resource cannot be changed or deleted.' },
  'scope.not_found': { status: 404, message: 'Permission not found.' },
  'scope.name_taken': { status: 422, message: 'The API resource already has a permission with this name.' },
  'scope.invalid_name': { status: 400, message: 'A permission name is 1 to 256 characters without spaces.' },
  'role.not_found': { status: 404, message: 'Role not found.' },
  'role.name_taken': { status: 422, message: 'A role with this name already exists.' },
  'role.type_mismatch': { status: 422, message: 'The role type does not fit: User roles go to users, MachineToMachine roles to machine-to-machine applications.' },
  'role.scope_already_granted': { status: 422, message: 'The role already has one of these permissions.' },
  'role.already_held': { status: 422, message: 'One of them already holds this role.' },
  'role.not_held': { status: 404, message: 'The role is not held by this user or application.' },
  'role.management_scope_for_user_role': { status: 400, message: 'The Management API\'s permissions can be given to MachineToMachine roles only.' },
  'application.roles_need_machine_to_machine': { status: 422, message: 'Only machine-to-machine applications hold roles.' },
  'role.management_role_read_only': { status: 400, message: 'The built-in Management API role cannot be deleted or have its permissions changed.' },

  'application.not_found': { status: 404, message: 'Application not found.' },
  'application.id_taken': { status: 409, message: 'An application with this id already exists.' },
  'application.invalid_metadata': { status: 400, message: 'The application settings are invalid.' },

  // personal access tokens and impersonation subject tokens (acting as a user)
  'personal_access_token.name_taken': { status: 409, message: 'The user already has a personal access token with this name.' },
  'personal_access_token.not_found': { status: 404, message: 'Personal access token not found.' },
  'personal_access_token.invalid_name': { status: 400, message: 'The token name must be 1 to 256 characters.' },
  'personal_access_token.invalid_expiry': { status: 400, message: 'The expiry must be a time in the future (ms since the epoch).' },
  'subject_token.invalid_context': { status: 400, message: 'The context must be a JSON object of at most 4096 bytes.' },

  // third-party identities (LeanCloud authData, social sign-in)
  'identity.already_linked': { status: 409, message: 'This external account is already linked to another user.' },
  'identity.not_found': { status: 404, message: 'No user is linked to this external account.' },
  'identity.invalid': { status: 400, message: 'The external account data is missing its id.' },
  'identity.token_not_found': { status: 404, message: 'No provider token is kept for this identity (token storage is off for its connector, or the identity was linked before it was on).' },
  'identity.target_mismatch': { status: 422, message: 'The social verification record proves an account of another provider than the one in the path.' },
  'identity.not_linked_to_user': { status: 422, message: 'The account the social verification record proves is not linked to you.' },
  'identity.no_token_response': { status: 422, message: "The social verification record holds no provider tokens (the connector's token storage is off)." },
  'identity.token_expired': { status: 401, message: 'The provider access token kept for this identity has expired and cannot be refreshed; sign in with the provider again.' },
  'identity.verified_only': { status: 409, message: 'This external account was linked through a verified sign-in (social connector or import); client-supplied authData cannot use it.' },
  'user.identity_not_exist': { status: 404, message: 'The user has no identity of this provider.' },

  // schema-free objects (LeanCloud /1.1 user objects)
  'object.invalid_key': { status: 400, message: 'Invalid key name.' },
  'object.invalid_type': { status: 400, message: 'Invalid value or operation for this key.' },
  'object.invalid_query': { status: 400, message: 'Invalid query.' },
  'object.invalid_acl': { status: 400, message: 'Invalid ACL.' },
  'object.protected_field': { status: 403, message: 'That field cannot be set by a client.' },
  'object.condition_failed': { status: 400, message: 'No effect on updating/deleting a document.' },
  'object.forbidden': { status: 403, message: 'Forbidden by class permissions or the object ACL.' },
  'user.session_required': { status: 403, message: 'The user cannot be altered by a client without the session.' },
  'user.username_required': { status: 400, message: 'A username is required.' },
  'user.phone_required': { status: 400, message: 'A phone number is required.' },
  'user.email_required': { status: 400, message: 'An email address is required.' },

  // end-user Account API and Verification API (Logto's codes and statuses, spec logto.md §1.6)
  'auth.authorization_header_missing': { status: 401, message: 'Authorization header is missing.' },
  'auth.authorization_token_type_not_supported': { status: 401, message: 'Authorization type is not supported.' },
  // The access token lacks a scope (RFC 6750 insufficient_scope). The Account API sends it in Logto's
  // dialect (http/account/errors.ts: `auth.unauthorized` with 400, logto.md §1.6).
  'auth.scope_missing': { status: 403, message: 'The access token lacks a scope this operation needs.' },
  'auth.third_party_application_forbidden': { status: 403, message: 'Third-party applications cannot change this account.' },
  'account_center.not_enabled': { status: 400, message: 'The account center is not enabled.' },
  'account_center.field_not_editable': { status: 400, message: 'This field is not editable.' },
  'account_center.field_not_enabled': { status: 400, message: 'This field is not enabled.' },
  'verification_record.permission_denied': { status: 401, message: 'Permission denied, please re-authenticate.' },
  'verification_record.not_found': { status: 400, message: 'Verification record not found.' },
  'user.last_sign_in_method_required': { status: 400, message: 'You cannot remove the last sign-in method.' },
  'user.same_password': { status: 422, message: 'New password cannot be the same as your old password.' },
  'oidc.session_not_found': { status: 404, message: 'Session not found.' },
  'oidc.grant_not_found': { status: 404, message: 'Grant not found.' },
  'oidc.interaction_expired': { status: 400, message: 'This sign-in request has expired or belongs to another browser. Go back to the application and try again.' },
  'oidc.form_forbidden': { status: 403, message: 'The form is stale or was not sent from this site. Reload the page.' },

  // social connectors and social sign-in (issue 7; Logto's codes where the spec names them, logto.md §2.2/§1.6)
  'connector.social_not_found': { status: 404, message: 'Connector not found.' },
  'connector.invalid_config': { status: 400, message: 'The connector configuration is not valid.' },
  'connector.idp_unreachable': { status: 502, message: 'The identity provider did not answer; try again later.' },
  'connector.invalid_response': { status: 502, message: 'The identity provider sent an answer that cannot be used.' },
  'connector.authorization_failed': { status: 400, message: 'The identity provider refused the authorization (denied, invalid or already used code).' },
  'connector.id_token_invalid': { status: 400, message: 'The identity provider\'s ID token is not valid for this sign-in.' },
  'connector.state_mismatch': { status: 400, message: 'The state does not match this authorization request.' },
  'connector.session_not_found': { status: 400, message: 'No pending social authorization matches this state; start again.' },
  'connector.redirect_uri_not_allowed': { status: 400, message: 'The redirect URI is not registered.' },
  'session.invalid_connector_id': { status: 422, message: 'The connector does not exist or is disabled.' },
  'session.insufficient_info': { status: 400, message: 'Insufficient information (state and redirectUri are required).' },
  'session.connector_validation_session_not_found': { status: 400, message: 'Connector session not found; request an authorization URI first.' },
  'user.identity_already_bound': { status: 400, message: 'You already have an identity of this provider; remove it first.' },

  // SDK surface (issue 6, seed 003: Authing AuthenticationClient)
  'auth.password_reset_required': { status: 403, message: 'The password must be changed before signing in; use the reset token in data.' },
  'auth.reset_token_invalid': { status: 400, message: 'The password reset token is invalid, expired or already used.' },
  'auth.user_exists_check_disabled': { status: 403, message: 'Checking whether a user exists is disabled on this server.' },
  'auth.captcha_required': { status: 401, message: 'Too many failed sign-ins from this address; solve a captcha (POST /api/auth/captcha).' },
  'auth.captcha_invalid': { status: 401, message: 'The captcha answer is wrong, expired or already used; request a new captcha.' },
  'auth.reauthentication_required': { status: 401, message: 'This change needs a recent sign-in: sign in again (within the last 10 minutes) and retry with the new session.' },
  'custom_field.not_found': { status: 400, message: 'No custom field is defined with this key.' },
  'custom_field.invalid_value': { status: 400, message: 'The value does not match the type of the custom field.' },
  'custom_field.key_taken': { status: 409, message: 'A custom field with this key already exists.' },
  'account.link_conflict': { status: 409, message: 'These accounts cannot be linked (the secondary account has its own password, email or phone, or both have an identity of one provider).' },

  // multi-factor authentication (issue 7 §4; Logto's codes where Logto has one, spec logto.md §1.5/§1.6)
  'auth.mfa_required': { status: 403, message: 'A second factor is required to finish signing in.' },
  'auth.mfa_enrollment_required': { status: 403, message: 'A second factor must be set up to finish signing in.' },
  'auth.mfa_sign_in_expired': { status: 400, message: 'This sign-in attempt has expired or was already used; sign in again.' },
  'auth.mfa_locked': { status: 423, message: 'Too many wrong second factors; an administrator must reset this account\'s second factors.' },
  'session.mfa.invalid_totp_code': { status: 400, message: 'The authenticator code is incorrect.' },
  'session.mfa.invalid_backup_code': { status: 400, message: 'The backup code is incorrect or was already used.' },
  'session.mfa.webauthn_verification_failed': { status: 400, message: 'The passkey could not be verified.' },
  'user.totp_already_in_use': { status: 422, message: 'An authenticator app is already set up.' },
  'user.totp_secret_invalid': { status: 400, message: 'The TOTP secret must be 16 to 32 base32 characters.' },
  'user.backup_code_already_in_use': { status: 422, message: 'Unused backup codes already exist.' },
  'session.mfa.backup_code_can_not_be_alone': { status: 422, message: 'Backup codes need another second factor first.' },
  'user.wrong_backup_code_format': { status: 422, message: 'Backup codes must be 10 distinct codes of 10 hexadecimal characters.' },
  'entity.not_found': { status: 404, message: 'Entity not found.' },

  // organizations (issue 18 item 4; Logto's organizations, organization roles and scopes, invitations, JIT)
  'organization.not_found': { status: 404, message: 'Organization not found.' },
  'organization.role_not_found': { status: 404, message: 'Organization role not found.' },
  'organization.scope_not_found': { status: 404, message: 'Organization scope not found.' },
  'organization.role_name_taken': { status: 422, message: 'An organization role with this name already exists.' },
  'organization.scope_name_taken': { status: 422, message: 'An organization scope with this name already exists.' },
  'organization.role_names_not_found': { status: 422, message: 'One or more organization role names do not exist.' },
  'organization.role_type_mismatch': { status: 422, message: 'The organization role type does not fit: User roles go to members, MachineToMachine roles to member applications.' },
  'organization.require_membership': { status: 422, message: 'The user or application must be a member of the organization to proceed.' },
  'organization.not_member': { status: 404, message: 'The user or application is not a member of the organization.' },
  'organization.role_not_held': { status: 404, message: 'The member does not hold this organization role.' },
  'organization.scope_not_granted': { status: 404, message: 'The organization role does not have this scope.' },
  'organization.application_not_machine_to_machine': { status: 422, message: 'Only machine-to-machine applications can be members of an organization.' },
  'organization.invitation_not_found': { status: 404, message: 'Organization invitation not found.' },
  'organization.invitation_not_pending': { status: 422, message: 'The invitation was already accepted, revoked or has expired; its status cannot be changed anymore.' },
  'organization.invitation_pending_exists': { status: 422, message: 'The invitee already has a pending invitation to this organization.' },
  'organization.invitation_invalid_expiry': { status: 400, message: 'The invitation expiry must be a time in the future (ms since the epoch).' },
  'organization.invitee_already_member': { status: 422, message: 'The invitee is already a member of the organization.' },
  'organization.invitee_mismatch': { status: 403, message: 'The invitation is for another email address: the accepting user\'s verified primary email must be the invitee.' },
  'organization.invitation_invalid_token': { status: 403, message: 'The invitation token is not valid.' },
  'organization.accepted_user_required': { status: 422, message: 'Accepting an invitation needs the accepting user.' },
  'organization.jit_domain_taken': { status: 422, message: 'The organization already has this email domain.' },
  'organization.jit_domain_not_found': { status: 404, message: 'The organization does not have this email domain.' },
  'organization.invalid_email_domain': { status: 400, message: 'The email domain is not valid (a host name such as example.com).' },
  'organization.jit_role_not_found': { status: 404, message: 'The organization does not give this role to just-in-time members.' },
  'organization.sso_connector_not_found': { status: 404, message: 'There is no such enterprise SSO connector (this server has none).' },
} as const satisfies Record<string, { status: number; message: string }>;

/** Every stable error code Tessera emits on its native surfaces. */
export type ErrorCode = keyof typeof ERROR_CODES;

// BEGIN ErrorDataMap (copied verbatim into sdk/src/codes.ts by sdk/scripts/gen-codes.mjs: self-contained types only)
/**
 * The `data` member each code carries, where it carries one: `new AppError(code, { data })` is checked
 * against this map by the compiler, and the SDK's `TesseraError` narrows `data` by `code` with the same
 * map. A code not listed here carries no `data`. Lengths of time are in seconds, instants in ms.
 */
export interface ErrorDataMap {
  /** Each invalid input location: `path` such as `body.email`, `query.page`; `code` a zod issue code or `custom`. */
  'request.invalid': { issues: Array<{ path: string; code: string; message: string }> };
  /** The password policy's findings (NIST SP 800-63B-4 §3.1.1.2), Logto's `password_rejected.*` codes. */
  'password.rejected': {
    issues: Array<{
      code:
        | 'password_rejected.too_short'
        | 'password_rejected.too_long'
        | 'password_rejected.common'
        | 'password_rejected.user_info'
        | 'password_rejected.character_types';
      interpolation?: Record<string, number>;
    }>;
  };
  /** The pending sign-in to finish (Authing's MFA token) and the second factors the user enrolled. */
  'auth.mfa_required': { pendingSignInId: string; factors: Array<'totp' | 'webauthn' | 'backup_code'> };
  /** The pending sign-in to finish by enrolling the listed factor (policy `required`). */
  'auth.mfa_enrollment_required': { pendingSignInId: string; factors: Array<'totp'> };
  /** A single-use reset token for `POST /api/auth/password/reset`, and why the reset is due. */
  'auth.password_reset_required': { resetToken: string; reason: 'first_login' | 'forced' };
  /** Wrong code: how many more tries the code has. */
  'verification.code_mismatch': { remainingAttempts: number };
  /** Which kind of identifier was not found (LeanCloud's phone and email code routes). */
  'user.not_found': { identifier: 'phone' | 'email' } | undefined;
  /** The custom field whose value does not fit its type. */
  'custom_field.invalid_value': { key: string; type: string };
  /** The key that names no defined custom field (absent on the administrator's routes). */
  'custom_field.not_found': { key: string } | undefined;
  /** What the connector's configuration lacks (`path` within the configuration). */
  'connector.invalid_config': { issues: Array<{ path: string; message: string }> };
  /** The provider's answer status and a short reason (never a token or secret). */
  'connector.invalid_response': { status?: number; reason?: string };
  /** The provider refused: its error (`error` of the callback, RFC 6749 §4.1.2.1) or status. */
  'connector.authorization_failed': { status?: number; reason?: string };
  /** The webhook endpoint's answer to a test delivery that was not 2xx (at most 4 096 characters of its body). */
  'hook.endpoint_error': { responseStatus: number; responseBody: string };
  /** Why a test delivery could not be made (a transport error code such as `ECONNREFUSED`, `timeout`). */
  'hook.test_failed': { reason: string };
}
// END ErrorDataMap

/** The `data` of an error with code `C` (`undefined` for a code that carries none). */
export type ErrorData<C extends ErrorCode> = C extends keyof ErrorDataMap ? ErrorDataMap[C] : undefined;
