/**
 * The account center's pages (issue 14 §3): one wide card with a tab nav, server-rendered with the same
 * layout, brand and catalogue as the sign-in pages. Every form posts to `/account/…` with the CSRF token;
 * only passkey enrolment needs JavaScript (the passkey glue script of src/oidc/passkey-script.ts). Field modes: `Off` fields are not shown at all,
 * `ReadOnly` ones as text without a form, `Edit` ones as forms.
 */
import type { ComponentChildren, JSX } from 'preact';
import type { FieldMode } from '../domain/account/center.js';
import type { MessageKey } from '../i18n/index.js';
import { PASSKEY_GLUE, PASSKEY_LIBRARY } from '../oidc/passkey-script.js';
import { Alert, Field, Hidden, Page, type PageContext } from '../ui/page.js';

/** The account center's sections, in nav order (their path under /account). */
export const TABS = ['profile', 'contact', 'password', 'mfa', 'social', 'sessions', 'custom-data', 'delete'] as const;
/** One section. */
export type Tab = (typeof TABS)[number];

const TAB_LABEL: Record<Tab, MessageKey> = {
  profile: 'account.tab.profile',
  contact: 'account.tab.contact',
  password: 'account.tab.password',
  mfa: 'account.tab.mfa',
  social: 'account.tab.social',
  sessions: 'account.tab.sessions',
  'custom-data': 'account.tab.customData',
  delete: 'account.tab.delete',
};

/** What every account page shows around its section. */
export interface Frame {
  ctx: PageContext;
  /** The visible tabs (field modes). */
  tabs: readonly Tab[];
  current: Tab;
  csrf: string;
  notice?: string | undefined;
  error?: string | undefined;
  /** How an identity proof can be given here (absent: the password only). */
  proof?: ProofOptions | undefined;
}

/** A POST form to the account center with the CSRF token. */
export function PostForm({ action, csrf, children, id, data }: { action: string; csrf: string; children?: ComponentChildren; id?: string; data?: Record<string, string> }): JSX.Element {
  const dataAttributes = Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [`data-${k}`, v]));
  return (
    <form method="post" action={action} id={id} {...dataAttributes}>
      <Hidden fields={{ csrf }} />
      {children}
    </form>
  );
}

/** The layout of every account page: heading, tab nav, sign-out, the section heading and its alerts. */
export function AccountPage({ frame, scripts, children }: { frame: Frame; scripts?: string[]; children?: ComponentChildren }): JSX.Element {
  const { ctx, tabs, current, csrf, notice, error } = frame;
  const { t } = ctx;
  return (
    <Page ctx={ctx} title={t('account.title')} wide {...(scripts ? { scripts } : {})}>
      <nav class="tabs" aria-label={t('account.nav')}>
        <ul>
          {tabs.map((tab) => (
            <li>
              <a href={`/account/${tab}`} aria-current={tab === current ? 'page' : undefined}>
                {t(TAB_LABEL[tab])}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <PostForm action="/account/sign-out" csrf={csrf}>
        <button type="submit" class="secondary inline">
          {t('account.signOut')}
        </button>
      </PostForm>
      <h2>{t(TAB_LABEL[current])}</h2>
      <Alert message={error} />
      <Alert message={notice} kind="notice" />
      {children}
    </Page>
  );
}

/** How the user can prove who they are, for {@link ProofForm}. */
export interface ProofOptions {
  /** Where a code can go: the user's current email or phone (a verified code there is an identity proof). */
  codeTo?: { type: 'email' | 'phone'; value: string } | undefined;
  /** A code was sent for the proof: its record. */
  pending?: { recordId: string } | undefined;
  /** The error of the code just entered. */
  codeError?: string | undefined;
}

/**
 * "Confirm it's you": an identity proof for the next 10 minutes (the password, or a code sent to the
 * current email or phone), then back to `tab`.
 */
export function ProofForm({ frame, tab, hasPassword = true }: { frame: Frame; tab: Tab; hasPassword?: boolean }): JSX.Element {
  const { ctx, csrf } = frame;
  const { t } = ctx;
  const { codeTo, pending, codeError } = frame.proof ?? {};
  return (
    <section aria-labelledby="proof-title">
      <h3 id="proof-title">{t('account.proof.title')}</h3>
      <p>{t('account.proof.lead')}</p>
      {hasPassword && !pending ? (
        <PostForm action="/account/verify" csrf={csrf}>
          <Hidden fields={{ return: tab }} />
          <Field id="proof-password" name="password" type="password" label={t('account.proof.password')} autocomplete="current-password" required />
          <button type="submit">{t('account.proof.submit')}</button>
        </PostForm>
      ) : null}
      {codeTo && pending ? (
        <PostForm action="/account/verify/code/check" csrf={csrf}>
          <p role="status">{t('account.contact.codeSent', { to: codeTo.value })}</p>
          <Hidden fields={{ return: tab, recordId: pending.recordId }} />
          <Field id="proof-code" name="code" label={t('account.contact.code')} autocomplete="one-time-code" inputmode="numeric" maxlength={16} required autofocus error={codeError} />
          <button type="submit">{t('account.proof.submit')}</button>
        </PostForm>
      ) : null}
      {codeTo && !pending ? (
        <PostForm action="/account/verify/code" csrf={csrf}>
          <Hidden fields={{ return: tab }} />
          <button type="submit" class="secondary">
            {t('account.proof.sendCode', { to: codeTo.value })}
          </button>
        </PostForm>
      ) : null}
      {!hasPassword && !codeTo ? <p>{t('account.proof.noPassword')}</p> : null}
    </section>
  );
}

/** A value shown without a form (`ReadOnly`, or a value the user changes elsewhere). */
function Shown({ label, value, ctx }: { label: string; value: string | null | undefined; ctx: PageContext }): JSX.Element {
  return (
    <>
      <dt>{label}</dt>
      <dd>{value || ctx.t('account.notSet')}</dd>
    </>
  );
}

/** Dates as the user's language writes them (UTC). */
export function formatDate(locale: string, value: number | string | null | undefined): string {
  if (value === null || value === undefined) return '';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return '';
  return new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC', timeZoneName: 'short' }).format(date);
}

/** The account as the Account API shows it (fields the modes or scopes hide are absent). */
export interface AccountView {
  id: string;
  username?: string | null;
  name?: string | null;
  avatar?: string | null;
  primaryEmail?: string | null;
  primaryPhone?: string | null;
  customData?: Record<string, unknown>;
  identities?: Record<string, { userId: string; details: Record<string, unknown> }>;
  hasPassword?: boolean;
}

/** Profile: name, avatar URL, username. */
export function ProfileSection(props: {
  frame: Frame;
  account: AccountView;
  modes: { name: FieldMode; avatar: FieldMode; username: FieldMode };
  values?: { name?: string; avatar?: string; username?: string };
  fieldErrors?: { avatar?: string | undefined; username?: string | undefined };
  needsProof?: boolean;
}): JSX.Element {
  const { frame, account, modes } = props;
  const { ctx, csrf } = frame;
  const { t } = ctx;
  const values = { name: account.name ?? '', avatar: account.avatar ?? '', username: account.username ?? '', ...props.values };
  const editable = (['name', 'avatar', 'username'] as const).filter((f) => modes[f] === 'Edit');
  const readOnly = (['name', 'avatar', 'username'] as const).filter((f) => modes[f] === 'ReadOnly');
  const label = { name: t('account.profile.name'), avatar: t('account.profile.avatar'), username: t('account.profile.username') };
  return (
    <AccountPage frame={frame}>
      {props.needsProof ? <ProofForm frame={frame} tab="profile" hasPassword={account.hasPassword !== false} /> : null}
      {readOnly.length ? (
        <dl>
          {readOnly.map((f) => (
            <Shown label={label[f]} value={values[f]} ctx={ctx} />
          ))}
        </dl>
      ) : null}
      {editable.length ? (
        <PostForm action="/account/profile" csrf={csrf}>
          {modes.name === 'Edit' ? <Field id="name" label={label.name} value={values.name} autocomplete="name" maxlength={256} /> : null}
          {modes.avatar === 'Edit' ? (
            <Field id="avatar" type="url" label={label.avatar} value={values.avatar} hint={t('account.profile.avatarHint')} error={props.fieldErrors?.avatar} maxlength={2048} />
          ) : null}
          {modes.username === 'Edit' ? (
            <Field
              id="username"
              label={label.username}
              value={values.username}
              autocomplete="username"
              autocapitalize="off"
              spellcheck={false}
              hint={t('account.profile.usernameHint')}
              error={props.fieldErrors?.username}
              maxlength={128}
            />
          ) : null}
          <button type="submit">{t('account.save')}</button>
        </PostForm>
      ) : null}
    </AccountPage>
  );
}

/** A pending code for a new email or phone (after "Send code"). */
export interface PendingCode {
  type: 'email' | 'phone';
  value: string;
  recordId: string;
}

/** Email & phone: bind, replace or remove with codes. */
export function ContactSection(props: {
  frame: Frame;
  account: AccountView;
  modes: { email: FieldMode; phone: FieldMode };
  hasProof: boolean;
  pending?: PendingCode | undefined;
  fieldErrors?: { email?: string | undefined; phone?: string | undefined; code?: string | undefined };
  values?: { email?: string; phone?: string };
}): JSX.Element {
  const { frame, account, modes, hasProof, pending } = props;
  const { ctx, csrf } = frame;
  const { t } = ctx;
  const anyEdit = modes.email === 'Edit' || modes.phone === 'Edit';
  const channel = (type: 'email' | 'phone') => {
    if (modes[type] === 'Off') return null;
    const current = type === 'email' ? account.primaryEmail : account.primaryPhone;
    const isPending = pending?.type === type;
    return (
      <section aria-labelledby={`${type}-title`}>
        <h3 id={`${type}-title`}>{type === 'email' ? t('account.contact.email') : t('account.contact.phone')}</h3>
        <p>{current || t('account.notSet')}</p>
        {modes[type] !== 'Edit' ? <p class="hint">{t('account.readOnly')}</p> : null}
        {modes[type] === 'Edit' && hasProof ? (
          <>
            {isPending ? (
              <PostForm action="/account/contact/verify" csrf={csrf}>
                <p role="status">{t('account.contact.codeSent', { to: pending.value })}</p>
                <Hidden fields={{ type, value: pending.value, recordId: pending.recordId }} />
                <Field
                  id={`${type}-code`}
                  name="code"
                  label={t('account.contact.code')}
                  autocomplete="one-time-code"
                  inputmode="numeric"
                  required
                  autofocus
                  maxlength={16}
                  error={props.fieldErrors?.code}
                />
                <button type="submit">{t('account.contact.verify')}</button>
              </PostForm>
            ) : (
              <PostForm action="/account/contact/code" csrf={csrf}>
                <Hidden fields={{ type }} />
                <Field
                  id={`new-${type}`}
                  name="value"
                  type={type === 'email' ? 'email' : 'tel'}
                  label={type === 'email' ? t('account.contact.newEmail') : t('account.contact.newPhone')}
                  autocomplete={type === 'email' ? 'email' : 'tel'}
                  required
                  maxlength={256}
                  value={props.values?.[type]}
                  error={props.fieldErrors?.[type]}
                />
                <button type="submit">{t('account.contact.sendCode')}</button>
              </PostForm>
            )}
            {current ? (
              <PostForm action="/account/contact/remove" csrf={csrf}>
                <Hidden fields={{ type }} />
                <button type="submit" class="secondary">
                  {type === 'email' ? t('account.contact.removeEmail') : t('account.contact.removePhone')}
                </button>
              </PostForm>
            ) : null}
          </>
        ) : null}
      </section>
    );
  };
  return (
    <AccountPage frame={frame}>
      {anyEdit && !hasProof ? <ProofForm frame={frame} tab="contact" hasPassword={account.hasPassword !== false} /> : null}
      {channel('email')}
      {channel('phone')}
    </AccountPage>
  );
}

/** Password: current password → proof → new password. */
export function PasswordSection(props: { frame: Frame; mode: FieldMode; hasPassword: boolean; fieldErrors?: { current?: string | undefined; password?: string | undefined } }): JSX.Element {
  const { frame, mode, hasPassword } = props;
  const { ctx, csrf } = frame;
  const { t } = ctx;
  return (
    <AccountPage frame={frame}>
      {!hasPassword ? <p>{t('account.password.none')}</p> : null}
      {mode === 'Edit' ? (
        <PostForm action="/account/password" csrf={csrf}>
          {hasPassword ? (
            <Field id="current" type="password" label={t('account.password.current')} autocomplete="current-password" required error={props.fieldErrors?.current} />
          ) : null}
          <Field id="password" type="password" label={t('account.password.new')} autocomplete="new-password" required error={props.fieldErrors?.password} />
          <button type="submit">{t('account.password.submit')}</button>
        </PostForm>
      ) : (
        <p class="hint">{t('account.readOnly')}</p>
      )}
    </AccountPage>
  );
}

/** An MFA factor as the Account API lists it. */
export interface FactorView {
  id: string;
  type: 'Totp' | 'BackupCode' | 'WebAuthn';
  createdAt: string;
  name?: string;
  remainCodes?: number;
}

/** Two-step verification: TOTP, backup codes, passkeys. */
export function MfaSection(props: {
  frame: Frame;
  mode: FieldMode;
  passkeyMode: FieldMode;
  factors: FactorView[];
  hasProof: boolean;
  hasPassword: boolean;
  totpSetup?: { secret: string; uri: string; qrCode: string; error?: string | undefined } | undefined;
  backupCodes?: string[] | undefined;
}): JSX.Element {
  const { frame, mode, passkeyMode, factors, hasProof } = props;
  const { ctx, csrf } = frame;
  const { t, locale } = ctx;
  const editable = mode === 'Edit' || passkeyMode === 'Edit';
  const canEdit = (f: FactorView) => (f.type === 'WebAuthn' ? passkeyMode : mode) === 'Edit';
  const label = (f: FactorView) =>
    f.type === 'Totp' ? t('account.mfa.totp') : f.type === 'BackupCode' ? t('account.mfa.backupCodes') : `${t('account.mfa.passkey')}${f.name ? `: ${f.name}` : ''}`;
  const showPasskeys = passkeyMode === 'Edit' && hasProof && !props.totpSetup && !props.backupCodes;
  const scripts = showPasskeys ? [PASSKEY_LIBRARY.path, PASSKEY_GLUE.path] : undefined;
  if (props.totpSetup) {
    const { secret, uri, qrCode, error } = props.totpSetup;
    return (
      <AccountPage frame={frame}>
        <h3>{t('account.mfa.addTotp')}</h3>
        <p>{t('account.mfa.totpLead')}</p>
        <div class="qr">
          <img id="totp-qr" src={qrCode} alt={t('account.mfa.qrAlt')} width={200} height={200} />
        </div>
        <dl>
          <dt>{t('account.mfa.key')}</dt>
          <dd>
            <code id="totp-secret">{secret.replace(/(.{4})/g, '$1 ').trim()}</code>
          </dd>
        </dl>
        <PostForm action="/account/mfa/totp" csrf={csrf}>
          <Hidden fields={{ secret, uri }} />
          <Field id="totp-code" name="code" label={t('account.mfa.totpCode')} autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]{6}" maxlength={6} required autofocus error={error} />
          <button type="submit">{t('account.mfa.totpSubmit')}</button>
        </PostForm>
      </AccountPage>
    );
  }
  if (props.backupCodes) {
    return (
      <AccountPage frame={frame}>
        <p>{t('account.mfa.backupLead')}</p>
        <ul class="codes" id="backup-codes">
          {props.backupCodes.map((c) => (
            <li>
              <code>{c}</code>
            </li>
          ))}
        </ul>
        <p>
          <a href="/account/mfa">{t('account.mfa.factors')}</a>
        </p>
      </AccountPage>
    );
  }
  return (
    <AccountPage frame={frame} {...(scripts ? { scripts } : {})}>
      {editable && !hasProof ? <ProofForm frame={frame} tab="mfa" hasPassword={props.hasPassword} /> : null}
      <h3>{t('account.mfa.factors')}</h3>
      {factors.length === 0 ? <p>{t('account.mfa.none')}</p> : null}
      <ul id="factors">
        {factors.map((f) => (
          <li>
            <span>{label(f)}</span>{' '}
            <span class="hint">
              {t('account.mfa.added', { date: formatDate(locale, f.createdAt) })}
              {f.type === 'BackupCode' && f.remainCodes !== undefined ? ` · ${t('account.mfa.backupRemaining', { count: f.remainCodes })}` : ''}
            </span>
            {canEdit(f) && hasProof ? (
              <PostForm action="/account/mfa/remove" csrf={csrf}>
                <Hidden fields={{ id: f.id }} />
                <button type="submit" class="secondary inline" aria-label={`${t('account.remove')}: ${label(f)}`}>
                  {t('account.remove')}
                </button>
              </PostForm>
            ) : null}
          </li>
        ))}
      </ul>
      {mode === 'Edit' && hasProof ? (
        <>
          {!factors.some((f) => f.type === 'Totp') ? (
            <PostForm action="/account/mfa/totp/start" csrf={csrf}>
              <button type="submit">{t('account.mfa.addTotp')}</button>
            </PostForm>
          ) : null}
          <PostForm action="/account/mfa/backup-codes" csrf={csrf}>
            <button type="submit" class="secondary">
              {t('account.mfa.newBackupCodes')}
            </button>
          </PostForm>
        </>
      ) : null}
      {showPasskeys ? (
        <PostForm
          action="/account/mfa/passkey"
          csrf={csrf}
          id="passkey-form"
          data={{ options: '/account/mfa/passkey/options', unsupported: t('account.mfa.passkeyUnsupported'), failed: t('account.mfa.passkeyFailed') }}
        >
          <Hidden fields={{ verificationRecordId: '', response: '' }} />
          <Field id="passkey-name" name="name" label={t('account.mfa.passkeyName')} maxlength={256} />
          <button type="button" id="passkey" hidden>
            {t('account.mfa.addPasskey')}
          </button>
          <p id="passkey-status" role="status"></p>
          <noscript>
            <p>{t('common.noscriptPasskey')}</p>
          </noscript>
        </PostForm>
      ) : null}
    </AccountPage>
  );
}

/** Linked accounts: list and unlink social identities. */
export function SocialSection(props: {
  frame: Frame;
  mode: FieldMode;
  identities: Array<{ target: string; label: string }>;
  /** An identity proof is needed to unlink and none is held (the user has a password, email or phone). */
  needsProof: boolean;
  hasPassword: boolean;
}): JSX.Element {
  const { frame, identities, needsProof } = props;
  const { ctx, csrf } = frame;
  const { t } = ctx;
  const mode = needsProof ? 'ReadOnly' : props.mode;
  return (
    <AccountPage frame={frame}>
      {props.mode === 'Edit' && needsProof && identities.length > 0 ? <ProofForm frame={frame} tab="social" hasPassword={props.hasPassword} /> : null}
      {identities.length === 0 ? <p>{t('account.social.none')}</p> : null}
      <ul>
        {identities.map((i) => (
          <li>
            <span>
              {i.target}
              {i.label ? ` (${i.label})` : ''}
            </span>
            {mode === 'Edit' ? (
              <PostForm action="/account/social/unlink" csrf={csrf}>
                <Hidden fields={{ target: i.target }} />
                <button type="submit" class="secondary inline" aria-label={`${t('account.social.unlink')}: ${i.target}`}>
                  {t('account.social.unlink')}
                </button>
              </PostForm>
            ) : null}
          </li>
        ))}
      </ul>
    </AccountPage>
  );
}

/** A session as the Account API lists it. */
export interface SessionView {
  id: string;
  kind: 'session' | 'oidc';
  createdAt: number | null;
  lastUsedAt: number | null;
  userAgent: string | null;
  clientIds?: string[];
  isCurrent: boolean;
}

/** A connected app as the Account API lists it. */
export interface GrantView {
  id: string;
  clientId: string | null;
  scope: string;
  createdAt: number | null;
}

/** Sessions & apps: list, end one session, disconnect one app. */
export function SessionsSection(props: {
  frame: Frame;
  mode: FieldMode;
  hasProof: boolean;
  hasPassword: boolean;
  sessions: SessionView[];
  grants: GrantView[];
  ownClientId: string;
  appNames: Record<string, string>;
}): JSX.Element {
  const { frame, mode, hasProof, sessions, grants } = props;
  const { ctx, csrf } = frame;
  const { t, locale } = ctx;
  if (!hasProof) {
    return (
      <AccountPage frame={frame}>
        <ProofForm frame={frame} tab="sessions" hasPassword={props.hasPassword} />
      </AccountPage>
    );
  }
  const describe = (s: SessionView) => {
    const kind = s.kind === 'oidc' ? t('account.sessions.kind.oidc') : t('account.sessions.kind.session');
    const parts = [s.isCurrent ? `${kind} (${t('account.sessions.current')})` : kind, t('account.sessions.started', { date: formatDate(locale, s.createdAt) })];
    if (s.clientIds?.length) parts.push(t('account.sessions.appCount', { count: s.clientIds.length }));
    if (s.userAgent) parts.push(s.userAgent.slice(0, 120));
    return parts.join(' · ');
  };
  const appName = (id: string | null) => (id ? (props.appNames[id] ?? id) : '?');
  return (
    <AccountPage frame={frame}>
      <h3>{t('account.sessions.sessions')}</h3>
      {sessions.length === 0 ? <p>{t('account.sessions.none')}</p> : null}
      <ul id="sessions">
        {sessions.map((s) => (
          <li data-session={s.id}>
            <span>{describe(s)}</span>
            {mode === 'Edit' && !s.isCurrent ? (
              <PostForm action="/account/sessions/end" csrf={csrf}>
                <Hidden fields={{ id: s.id }} />
                <button type="submit" class="secondary inline" aria-label={`${t('account.sessions.end')}: ${describe(s)}`}>
                  {t('account.sessions.end')}
                </button>
              </PostForm>
            ) : null}
          </li>
        ))}
      </ul>
      <h3>{t('account.sessions.connected')}</h3>
      {grants.length === 0 ? <p>{t('account.sessions.none')}</p> : null}
      <ul id="grants">
        {grants.map((g) => (
          <li>
            <span>
              {appName(g.clientId)} · {formatDate(locale, g.createdAt)}
            </span>
            {mode === 'Edit' && g.clientId !== props.ownClientId ? (
              <PostForm action="/account/grants/revoke" csrf={csrf}>
                <Hidden fields={{ id: g.id }} />
                <button type="submit" class="secondary inline" aria-label={`${t('account.sessions.revoke')}: ${appName(g.clientId)}`}>
                  {t('account.sessions.revoke')}
                </button>
              </PostForm>
            ) : null}
          </li>
        ))}
      </ul>
    </AccountPage>
  );
}

/** Custom data: the JSON object, editable where the admin allows. */
export function CustomDataSection(props: { frame: Frame; mode: FieldMode; json: string; error?: string | undefined }): JSX.Element {
  const { frame, mode, json, error } = props;
  const { ctx, csrf } = frame;
  const { t } = ctx;
  if (mode !== 'Edit') {
    return (
      <AccountPage frame={frame}>
        <pre>
          <code>{json}</code>
        </pre>
        <p class="hint">{t('account.readOnly')}</p>
      </AccountPage>
    );
  }
  return (
    <AccountPage frame={frame}>
      <PostForm action="/account/custom-data" csrf={csrf}>
        <label for="customData">{t('account.customData.label')}</label>
        <textarea id="customData" name="customData" rows={8} spellcheck={false} aria-invalid={error ? 'true' : undefined} aria-describedby={error ? 'customData-error' : undefined}>
          {json}
        </textarea>
        {error ? (
          <p class="field-error" id="customData-error">
            {error}
          </p>
        ) : null}
        <button type="submit">{t('account.save')}</button>
      </PostForm>
    </AccountPage>
  );
}

/** Delete account: confirm with the password. */
export function DeleteSection(props: { frame: Frame; hasPassword: boolean; hasProof: boolean; deleteAccountUrl: string | null; fieldError?: string | undefined }): JSX.Element {
  const { frame, hasPassword } = props;
  const { ctx, csrf } = frame;
  const { t } = ctx;
  return (
    <AccountPage frame={frame}>
      <p>{t('account.delete.lead')}</p>
      {props.deleteAccountUrl ? (
        <p>
          <a href={props.deleteAccountUrl}>{t('account.delete.elsewhere')}</a>
        </p>
      ) : hasPassword || props.hasProof ? (
        <PostForm action="/account/delete" csrf={csrf}>
          {hasPassword ? <Field id="delete-password" name="password" type="password" label={t('account.delete.password')} autocomplete="current-password" required error={props.fieldError} /> : null}
          <button type="submit" class="danger">
            {t('account.delete.submit')}
          </button>
        </PostForm>
      ) : (
        <ProofForm frame={frame} tab="delete" hasPassword={false} />
      )}
    </AccountPage>
  );
}

/** A page outside the signed-in frame: a message and optionally a link (deleted, errors, disabled). */
export function MessagePage({ ctx, title, message, link }: { ctx: PageContext; title: string; message: string; link?: { href: string; text: string } }): JSX.Element {
  return (
    <Page ctx={ctx} title={title}>
      <p>{message}</p>
      {link ? (
        <p>
          <a href={link.href}>{link.text}</a>
        </p>
      ) : null}
    </Page>
  );
}
