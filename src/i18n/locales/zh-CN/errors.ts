import type { ErrorCode } from '../../../errors/codes.js';

/**
 * Simplified Chinese API error messages by code (the English ones are the `message`s of
 * src/errors/codes.ts, the source of truth). Every code must have one: a new code without a
 * translation is a compile error. Field and parameter names (`end_time`, `state`, `data` …) and
 * product terms that appear verbatim in the API stay as they are.
 */
export const errors: Record<ErrorCode, string> = {
  // request / transport
  'request.invalid': '请求无效。',
  'request.empty_update': '请求未做任何修改：请至少提供一个字段。',
  'request.malformed_json': '请求体不是有效的 JSON。',
  'request.body_too_large': '请求体过大。',
  'request.unsupported_media_type': '不支持该请求内容类型。',
  'request.not_found': '请求的路由不存在。',
  'request.method_not_allowed': '不允许使用该请求方法。',
  'request.rate_limited': '请求过于频繁，请稍后再试。',
  'internal.error': '服务器内部错误。',
  'internal.unavailable': '服务暂时不可用。',

  // caller authentication (bearer credentials)
  'auth.unauthorized': '需要有效的 Bearer 令牌。',
  'auth.invalid_credentials': '账号或密码错误。',
  'auth.too_many_failures': '登录失败次数过多，账号已被暂时锁定。',
  'auth.user_suspended': '该账号已被停用。',
  'auth.forbidden': '访问令牌无权执行此操作。',
  'auth.identifier_required': '用户名、邮箱和手机号必须且只能提供其中一项。',

  // users
  'user.not_found': '用户不存在。',
  'user.username_taken': '该用户名已被使用。',
  'user.email_taken': '该邮箱地址已被使用。',
  'user.phone_taken': '该手机号已被使用。',
  'user.invalid_username': '用户名无效。',
  'user.invalid_email': '邮箱地址无效。',
  'user.invalid_phone': '手机号无效。',
  'user.identifier_required': '请提供用户名、邮箱地址或手机号。',
  'user.password_required': '请提供密码。',
  'user.password_mismatch': '密码不正确。',

  // passwords
  'password.rejected': '密码不符合密码策略。',

  // sessions
  'session.not_found': '会话不存在。',

  // sign-in rules
  'auth.email_not_verified': '登录前须先验证邮箱地址。',

  // connectors (email, SMS)
  'connector.delivery_failed': '消息发送失败，请稍后再试。',

  // verification codes and records
  'verification.not_found': '验证记录不存在或已过期。',
  'verification.code_mismatch': '验证码错误。',
  'verification.code_expired': '验证码已过期，请重新获取。',
  'verification.too_many_attempts': '验证码错误次数过多，请重新获取。',
  'verification.resend_too_soon': '验证码刚刚发送过，请稍后再重新获取。',
  'verification.not_verified': '该验证记录尚未通过验证。',
  'verification.already_used': '该验证记录已被使用。',
  'verification.purpose_mismatch': '该验证记录是为其他用途签发的。',

  // webhooks and the audit log
  'hook.not_found': 'Webhook 不存在。',
  'hook.events_required': '请为 Webhook 至少指定一个事件。',
  'hook.invalid_url': 'Webhook URL 必须是不含凭据的 http 或 https URL。',
  'hook.denied_address': 'Webhook URL 指向了禁止 Webhook 访问的地址范围。',
  'hook.endpoint_error': '端点对测试投递返回了错误状态。',
  'hook.test_failed': '无法发送测试投递。',
  'log.not_found': '日志条目不存在。',
  'log.invalid_time_window': 'end_time 不能早于 start_time。',

  // authorization: API resources, permissions and roles
  'resource.not_found': 'API 资源不存在。',
  'resource.indicator_taken': '已存在使用该标识符的 API 资源。',
  'resource.invalid_indicator': '资源标识符必须是不含片段（fragment）的绝对 URI。',
  'resource.management_api_read_only': 'Management API 资源不能修改或删除。',
  'scope.not_found': '权限不存在。',
  'scope.name_taken': '该 API 资源下已存在同名权限。',
  'scope.invalid_name': '权限名称长度为 1 到 256 个字符，且不能包含空格。',
  'role.not_found': '角色不存在。',
  'role.name_taken': '已存在同名角色。',
  'role.type_mismatch': '角色类型不匹配：User 角色只能分配给用户，MachineToMachine 角色只能分配给机器对机器应用。',
  'role.scope_already_granted': '该角色已拥有其中某个权限。',
  'role.already_held': '其中已有用户或应用拥有该角色。',
  'role.not_held': '该用户或应用未拥有此角色。',
  'role.management_scope_for_user_role': 'Management API 的权限只能分配给 MachineToMachine 角色。',
  'application.roles_need_machine_to_machine': '只有机器对机器应用可以拥有角色。',
  'role.management_role_read_only': '内置的 Management API 角色不能删除，也不能修改其权限。',

  'application.not_found': '应用不存在。',
  'application.id_taken': '已存在使用该 ID 的应用。',
  'application.invalid_metadata': '应用设置无效。',

  // personal access tokens and impersonation subject tokens
  'personal_access_token.name_taken': '该用户已有同名的个人访问令牌。',
  'personal_access_token.not_found': '个人访问令牌不存在。',
  'personal_access_token.invalid_name': '令牌名称长度须为 1 到 256 个字符。',
  'personal_access_token.invalid_expiry': '过期时间必须是将来的某个时间（自纪元起的毫秒数）。',
  'subject_token.invalid_context': 'context 必须是不超过 4096 字节的 JSON 对象。',

  // third-party identities
  'identity.already_linked': '该外部账号已关联到其他用户。',
  'identity.not_found': '没有用户关联到该外部账号。',
  'identity.invalid': '外部账号数据缺少 ID。',
  'identity.token_not_found': '未保存该身份的提供方令牌（其连接器未开启令牌存储，或该身份是在开启之前关联的）。',
  'identity.target_mismatch': '社交验证记录证明的账号属于其他提供方，与路径中的提供方不符。',
  'identity.not_linked_to_user': '社交验证记录所证明的账号未与你关联。',
  'identity.no_token_response': '社交验证记录中没有提供方令牌（连接器未开启令牌存储）。',
  'identity.token_expired': '为该身份保存的提供方访问令牌已过期且无法刷新，请重新通过该提供方登录。',
  'identity.verified_only': '该外部账号是通过经过验证的登录（社交连接器或导入）关联的，客户端提交的 authData 不能使用它。',
  'user.identity_not_exist': '该用户没有此提供方的身份。',

  // schema-free objects (LeanCloud /1.1 user objects)
  'object.invalid_key': '键名无效。',
  'object.invalid_type': '该键的值或操作无效。',
  'object.invalid_query': '查询无效。',
  'object.invalid_acl': 'ACL 无效。',
  'object.protected_field': '客户端不能设置该字段。',
  'object.condition_failed': '更新或删除文档未产生任何效果。',
  'object.forbidden': '被类权限或对象 ACL 禁止。',
  'user.session_required': '客户端没有该用户的会话，不能修改该用户。',
  'user.username_required': '请提供用户名。',
  'user.phone_required': '请提供手机号。',
  'user.email_required': '请提供邮箱地址。',

  // end-user Account API and Verification API
  'auth.authorization_header_missing': '缺少 Authorization 请求头。',
  'auth.authorization_token_type_not_supported': '不支持该授权类型。',
  'auth.scope_missing': '访问令牌缺少此操作所需的权限范围（scope）。',
  'auth.third_party_application_forbidden': '第三方应用不能修改此账号。',
  'account_center.not_enabled': '账号中心未启用。',
  'account_center.field_not_editable': '该字段不可编辑。',
  'account_center.field_not_enabled': '该字段未启用。',
  'verification_record.permission_denied': '权限不足，请重新验证身份。',
  'verification_record.not_found': '验证记录不存在。',
  'user.last_sign_in_method_required': '不能移除最后一种登录方式。',
  'user.same_password': '新密码不能与旧密码相同。',
  'oidc.session_not_found': '会话不存在。',
  'oidc.grant_not_found': '授权不存在。',
  'oidc.interaction_expired': '此登录请求已过期，或属于其他浏览器。请返回应用重试。',
  'oidc.form_forbidden': '表单已失效，或并非从本站提交。请刷新页面。',

  // social connectors and social sign-in
  'connector.social_not_found': '连接器不存在。',
  'connector.invalid_config': '连接器配置无效。',
  'connector.idp_unreachable': '身份提供方没有响应，请稍后再试。',
  'connector.invalid_response': '身份提供方返回的响应无法使用。',
  'connector.authorization_failed': '身份提供方拒绝了授权（已拒绝、授权码无效或已被使用）。',
  'connector.id_token_invalid': '身份提供方的 ID 令牌对本次登录无效。',
  'connector.state_mismatch': 'state 与本次授权请求不匹配。',
  'connector.session_not_found': '没有与该 state 匹配的待处理社交授权，请重新开始。',
  'connector.redirect_uri_not_allowed': '该重定向 URI 未注册。',
  'session.invalid_connector_id': '连接器不存在或已停用。',
  'session.insufficient_info': '信息不足（需要 state 和 redirectUri）。',
  'session.connector_validation_session_not_found': '连接器会话不存在，请先获取授权 URI。',
  'user.identity_already_bound': '你已有此提供方的身份，请先将其移除。',

  // SDK surface (Authing AuthenticationClient)
  'auth.password_reset_required': '登录前必须先修改密码，请使用 data 中的重置令牌。',
  'auth.reset_token_invalid': '密码重置令牌无效、已过期或已被使用。',
  'auth.user_exists_check_disabled': '此服务器已禁用检查用户是否存在。',
  'auth.captcha_required': '该地址登录失败次数过多，请完成图形验证码（POST /api/auth/captcha）。',
  'auth.captcha_invalid': '图形验证码错误、已过期或已被使用，请重新获取。',
  'auth.reauthentication_required': '此修改需要最近登录过：请重新登录（10 分钟内），并使用新会话重试。',
  'custom_field.not_found': '未定义使用该键的自定义字段。',
  'custom_field.invalid_value': '该值与自定义字段的类型不符。',
  'custom_field.key_taken': '已存在使用该键的自定义字段。',
  'account.link_conflict': '无法关联这两个账号（副账号有自己的密码、邮箱或手机号，或两个账号都有同一提供方的身份）。',

  // multi-factor authentication
  'auth.mfa_required': '需要完成第二重验证才能登录。',
  'auth.mfa_enrollment_required': '需要先设置第二重验证才能完成登录。',
  'auth.mfa_sign_in_expired': '本次登录已过期或已被使用，请重新登录。',
  'auth.mfa_locked': '第二重验证错误次数过多，需由管理员重置此账号的第二重验证。',
  'session.mfa.invalid_totp_code': '身份验证器验证码错误。',
  'session.mfa.invalid_backup_code': '备用码错误或已被使用。',
  'session.mfa.webauthn_verification_failed': '无法验证该通行密钥。',
  'user.totp_already_in_use': '已设置身份验证器应用。',
  'user.totp_secret_invalid': 'TOTP 密钥必须是 16 到 32 个 base32 字符。',
  'user.backup_code_already_in_use': '已有未使用的备用码。',
  'session.mfa.backup_code_can_not_be_alone': '使用备用码前需先设置另一种第二重验证方式。',
  'user.wrong_backup_code_format': '备用码必须是 10 个互不相同、各由 10 个十六进制字符组成的码。',
  'entity.not_found': '实体不存在。',

  // organizations
  'organization.not_found': '组织不存在。',
  'organization.role_not_found': '组织角色不存在。',
  'organization.scope_not_found': '组织权限不存在。',
  'organization.role_name_taken': '已存在同名的组织角色。',
  'organization.scope_name_taken': '已存在同名的组织权限。',
  'organization.role_names_not_found': '一个或多个组织角色名称不存在。',
  'organization.role_type_mismatch': '组织角色类型不匹配：User 角色只能分配给成员用户，MachineToMachine 角色只能分配给成员应用。',
  'organization.require_membership': '用户或应用必须是该组织的成员才能继续。',
  'organization.not_member': '该用户或应用不是该组织的成员。',
  'organization.role_not_held': '该成员未拥有此组织角色。',
  'organization.scope_not_granted': '该组织角色没有此权限。',
  'organization.application_not_machine_to_machine': '只有机器对机器应用可以成为组织成员。',
  'organization.invitation_not_found': '组织邀请不存在。',
  'organization.invitation_not_pending': '该邀请已被接受、撤销或已过期，其状态不能再更改。',
  'organization.invitation_pending_exists': '被邀请人已有一个该组织的待处理邀请。',
  'organization.invitation_invalid_expiry': '邀请的过期时间必须是将来的某个时间（自纪元起的毫秒数）。',
  'organization.invitee_already_member': '被邀请人已是该组织的成员。',
  'organization.invitee_mismatch': '该邀请是发给其他邮箱地址的：接受邀请的用户须以已验证的主邮箱作为被邀请人。',
  'organization.invitation_invalid_token': '邀请令牌无效。',
  'organization.accepted_user_required': '接受邀请需要提供接受邀请的用户。',
  'organization.jit_domain_taken': '该组织已有此邮箱域名。',
  'organization.jit_domain_not_found': '该组织没有此邮箱域名。',
  'organization.invalid_email_domain': '邮箱域名无效（应为 example.com 这样的主机名）。',
  'organization.jit_role_not_found': '该组织不会把此角色授予即时加入的成员。',
  'organization.sso_connector_not_found': '没有此企业单点登录连接器（本服务器没有任何企业单点登录连接器）。',
};
