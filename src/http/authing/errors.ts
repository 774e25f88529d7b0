import type { ErrorCode } from '../../errors/index.js';
import { toAppError } from '../errors.js';

/**
 * Authing's dialect (shared/specs/authing.md §4): every answer is HTTP 200 and an error carries Authing's
 * numeric `code` and a message in the caller's language (`x-authing-lang`: `zh-CN`, the SDK's default, or
 * `en-US`). One table from our dotted codes; the domain keeps its own. Codes Authing never documented
 * (a weak password, a UDF type mismatch, SMS rate limits) are Tessera's choice and listed in the README.
 */

/** One Authing error: its code and its message in both languages. */
interface AuthingError {
  code: number;
  zh: string;
  en: string;
}

const E = (code: number, zh: string, en: string): AuthingError => ({ code, zh, en });

const TABLE: Partial<Record<ErrorCode, AuthingError>> = {
  'auth.invalid_credentials': E(2333, '账号或密码错误', 'Incorrect username or password'),
  'user.password_mismatch': E(2203, '原密码错误', 'The original password is wrong'),
  'auth.too_many_failures': E(2005, '账号已被锁定，请稍后再试', 'The account is locked; try again later'),
  'auth.user_suspended': E(2005, '账号已被锁定', 'The account is locked'),
  'auth.captcha_required': E(2000, '请输入图形验证码', 'Please enter the captcha code'),
  'auth.captcha_invalid': E(2000, '图形验证码错误', 'The captcha code is wrong'),
  'auth.unauthorized': E(2020, '尚未登录，无访问权限', 'Not logged in'),
  'auth.mfa_required': E(1635, '请完成多因素认证', 'Multi-factor authentication is required'),
  'auth.mfa_enrollment_required': E(1635, '请先绑定多因素认证', 'Enrol a second factor first'),
  'auth.password_reset_required': E(1639, '首次登录需要重置密码', 'Reset the password at the first login'),
  'auth.reauthentication_required': E(2020, '请重新登录后再操作', 'Sign in again to do this'),
  'auth.user_exists_check_disabled': E(1001, '无权限进行此操作', 'This operation is not allowed'),
  'account_center.field_not_editable': E(1001, '无权限修改此字段', 'This field cannot be changed by its user'),
  'user.not_found': E(2004, '用户不存在', 'User does not exist'),
  'user.username_taken': E(2034, '用户名已存在', 'The username already exists'),
  'user.email_taken': E(2026, '用户已存在，请不要重复注册', 'The user already exists'),
  'user.phone_taken': E(2035, '手机号已被绑定', 'The phone number is already bound'),
  'identity.already_linked': E(2026, '用户已存在，请不要重复注册', 'The user already exists'),
  'user.invalid_email': E(2003, '邮箱格式不正确', 'The email address is not valid'),
  'user.invalid_phone': E(2028, '请提供正确的手机号或邮箱', 'Please provide a correct phone number or email'),
  'user.invalid_username': E(2231, '用户名不合法', 'The username is not valid'),
  'user.identifier_required': E(2231, '请求参数不完整', 'Request parameters are incomplete'),
  'auth.identifier_required': E(2231, '请求参数不完整', 'Request parameters are incomplete'),
  'user.password_required': E(2032, '注册信息缺少密码', 'A password is required'),
  'password.rejected': E(2029, '密码强度不符合要求', 'The password does not meet the strength requirements'),
  'user.same_password': E(2029, '新密码不能与原密码相同', 'The new password must differ from the current one'),
  'user.last_sign_in_method_required': E(2217, '仅剩一种登录方式，不能解绑', 'It is the only way to sign in left; it cannot be unbound'),
  'verification.not_found': E(2001, '验证码不正确', 'The verification code is wrong'),
  'verification.code_mismatch': E(2001, '验证码不正确', 'The verification code is wrong'),
  'verification.code_expired': E(2300, '验证码已过期', 'The verification code has expired'),
  'verification.too_many_attempts': E(2001, '验证码错误次数过多，请重新获取', 'Too many wrong codes; request a new one'),
  'verification.already_used': E(2001, '验证码已使用', 'The verification code was already used'),
  'verification.purpose_mismatch': E(2001, '验证码不正确', 'The verification code is wrong'),
  'verification.resend_too_soon': E(2100, '发送过于频繁，请稍后再试', 'Sent too often; try again later'),
  'request.rate_limited': E(2100, '操作过于频繁，请稍后再试', 'Too many requests; try again later'),
  'connector.delivery_failed': E(2021, '发送失败', 'The message could not be sent'),
  'custom_field.not_found': E(2231, '自定义字段不存在', 'The custom field does not exist'),
  'custom_field.invalid_value': E(2231, '自定义字段值类型不匹配', 'The value does not match the custom field type'),
  'account.link_conflict': E(2026, '账号关联冲突', 'The accounts cannot be linked'),
  'request.invalid': E(2231, '请求参数不完整或不合法', 'Request parameters are incomplete or invalid'),
  'request.malformed_json': E(2231, '请求体不是合法的 JSON', 'The request body is not valid JSON'),
  'request.body_too_large': E(2231, '请求体过大', 'The request body is too large'),
  'request.not_found': E(2231, '不支持的操作', 'Unsupported operation'),
  'internal.error': E(500, '服务器内部错误', 'Internal server error'),
  'internal.unavailable': E(1000, '系统繁忙，请稍后再试', 'The system is busy; try again later'),
};

/** The caller's language: `en-US` when `x-authing-lang` asks for English, else `zh-CN` (the SDK's default). */
export function authingLang(header: unknown): 'zh-CN' | 'en-US' {
  return typeof header === 'string' && /^en/i.test(header) ? 'en-US' : 'zh-CN';
}

/**
 * The Authing error of anything thrown: its code and localised message; `data` carries our code (and the
 * error's own data), so a developer can see what happened. Unknown client errors become 2231, server
 * errors 500.
 */
export function toAuthingError(error: unknown, lang: 'zh-CN' | 'en-US'): { code: number; message: string; data: Record<string, unknown> } {
  const app = toAppError(error);
  const entry = TABLE[app.code] ?? (app.status >= 500 ? TABLE['internal.error']! : E(2231, app.message, app.message));
  const data: Record<string, unknown> = { tesseraCode: app.code };
  if (app.data !== undefined && app.status < 500) data.detail = app.data;
  // 1639 / 2058: Authing's clients read the reset token as `data.token` (resetPasswordByFirstLoginToken).
  const resetToken = (app.data as { resetToken?: unknown } | undefined)?.resetToken;
  if (app.code === 'auth.password_reset_required' && typeof resetToken === 'string') data.token = resetToken;
  return { code: entry.code, message: lang === 'en-US' ? entry.en : entry.zh, data };
}

/** Every dotted code with an Authing code (for the README and tests). */
export const AUTHING_CODES: Readonly<Partial<Record<ErrorCode, number>>> = Object.fromEntries(Object.entries(TABLE).map(([k, v]) => [k, v!.code]));
