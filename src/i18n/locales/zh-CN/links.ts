import type { Translation } from '../../types.js';
import type { links as en } from '../en/links.js';

/** Simplified Chinese texts of the pages opened from links in messages: every key of ../en/links.ts. */
export const links: Translation<typeof en> = {
  'links.reset.title': '重置密码',
  'links.reset.lead': '请输入邮件中的验证码，并设置新密码。',
  'links.reset.email': '邮箱',
  'links.reset.code': '验证码',
  'links.reset.codeHint': '邮件中的 6 位数字验证码。',
  'links.reset.password': '新密码',
  'links.reset.submit': '设置密码',
  'links.reset.rejected': '不能使用这个密码（太短、太常见，或包含你的姓名），请换一个。',
  'links.reset.rateLimited': '尝试次数过多，请等待一分钟后再试。',
  'links.reset.badCode': '验证码错误或已过期。请查看最新的一封邮件，或重新获取验证码。',
  'links.reset.doneTitle': '密码已修改',
  'links.reset.done': '你的密码已修改，现在可以用新密码登录了。',

  'links.verify.doneTitle': '邮箱已验证',
  'links.verify.done': '你的邮箱地址已通过验证，可以关闭此页面了。',
  'links.verify.failedTitle': '链接无效',
  'links.verify.failed': '该链接无效、已过期或已被使用，请重新获取验证邮件。',
  'links.verify.expired': '该链接已过期。请重新获取验证邮件，并在 10 分钟内点击其中的链接。',
  'links.verify.invalid': '该链接无效或已被使用。如果你的邮箱地址仍未验证，请重新获取验证邮件。',
};
