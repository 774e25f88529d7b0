/**
 * The real `leancloud-storage` SDK (4.15.2) against a listening Tessera on 127.0.0.1, on SQLite and
 * PostgreSQL: every account flow an app built on LeanCloud uses, with mail read from a real SMTP sink
 * and SMS codes from a real webhook receiver.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, LogCapture, type RunningApp, startApp } from './helpers.js';
import { AV, cnPhone, dialects, LC_KEYS, lcConfig, lcFetch, PW, uniq } from './leancloud-helpers.js';
import { extractCode, startSmsWebhook, startSmtpSink } from './peers.js';

type AVUser = InstanceType<typeof AV.User>;
/** `User#updatePassword` exists in the SDK but is missing from its type declarations. */
type WithUpdatePassword = AVUser & { updatePassword(oldPassword: string, newPassword: string): Promise<AVUser> };
const updatePassword = (user: AVUser, oldPassword: string, newPassword: string) => (user as WithUpdatePassword).updatePassword(oldPassword, newPassword);
let initialized = false;

/** Runs `p` and returns the LeanCloud error code it rejected with. */
async function codeOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (error) {
    return (error as { code: number }).code;
  }
  throw new Error('expected the call to fail');
}

describe.each(dialects)('leancloud-storage SDK against /1.1 on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<typeof database>>;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  let sms: Awaited<ReturnType<typeof startSmsWebhook>>;
  const logs = new LogCapture();
  const secrets: string[] = [];

  beforeAll(async () => {
    smtp = await startSmtpSink();
    sms = await startSmsWebhook();
    db = await database();
    const port = await freePort();
    t = await startApp(
      lcConfig({
        databaseUrl: db.url,
        port,
        publicUrl: `http://127.0.0.1:${port}`,
        logLevel: 'info',
        email: { smtpUrl: smtp.url, from: 'Tessera <auth@tessera.test>' },
        sms: { webhookUrl: sms.url },
      }),
      { logStream: logs },
    );
    if (!initialized) {
      AV.init({ ...LC_KEYS, serverURL: t.base });
      initialized = true;
    } else {
      AV.setServerURLs(t.base);
    }
  });
  afterEach(async () => {
    await AV.User.logOut();
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
    await sms.close();
    await db.drop();
    // Passwords and codes never reach the logs.
    expect(secrets.length).toBeGreaterThan(3);
    for (const s of secrets) expect(logs.mentions(s)).toBe(false);
  });

  /** The next SMS code sent to `phone` (after `before` requests). */
  async function smsCodeFor(phone: string, before: number): Promise<string> {
    const req = await sms.waitFor((r, i) => i >= before && r.json?.to === phone, 5000);
    secrets.push(req.json.code);
    return req.json.code as string;
  }

  async function signUp(attrs: Record<string, unknown> = {}): Promise<AVUser> {
    const username = uniq('lc');
    secrets.push(PW);
    return AV.User.signUp(username, PW, attrs as never);
  }

  it('signs up and logs in by username, email and phone; become, current and isAuthenticated', async () => {
    const email = `${uniq('mail')}@Example.com`;
    const phone = cnPhone();
    const user = await signUp({ email, mobilePhoneNumber: phone, gender: 'female', phone: '415-392-0202' });
    expect(user.id).toMatch(/^[0-9a-f]{24}$/);
    const token = user.getSessionToken();
    expect(token).toMatch(/^tss_/);
    expect(user.get('emailVerified')).toBe(false);
    expect(user.get('mobilePhoneVerified')).toBe(false);
    expect(user.get('gender')).toBe('female');
    expect(user.get('password')).toBeUndefined();
    expect(AV.User.current()?.id).toBe(user.id);
    expect(await user.isAuthenticated()).toBe(true);

    const byName = await AV.User.logIn(user.getUsername(), PW);
    expect(byName.id).toBe(user.id);
    expect(byName.get('phone')).toBe('415-392-0202');
    expect((await AV.User.loginWithEmail(email, PW)).id).toBe(user.id);
    expect((await AV.User.logInWithMobilePhone(phone, PW)).id).toBe(user.id);

    await AV.User.logOut();
    expect(AV.User.current()).toBeNull();
    const became = await AV.User.become(token);
    expect(became.id).toBe(user.id);
    expect(became.getEmail()).toBe(email);
    expect(AV.User.current()?.getSessionToken()).toBe(token);
  });

  it('answers 202, 203, 214 for taken identifiers and 210 / 211 for bad logins', async () => {
    const email = `${uniq('dup')}@example.com`;
    const phone = cnPhone();
    const user = await signUp({ email, mobilePhoneNumber: phone });
    await AV.User.logOut();
    expect(await codeOf(AV.User.signUp(user.getUsername(), PW))).toBe(202);
    expect(await codeOf(AV.User.signUp(uniq(), PW, { email } as never))).toBe(203);
    expect(await codeOf(AV.User.signUp(uniq(), PW, { mobilePhoneNumber: phone } as never))).toBe(214);
    expect(await codeOf(AV.User.logIn(user.getUsername(), 'not-the-password'))).toBe(210);
    expect(await codeOf(AV.User.logIn(uniq('ghost'), PW))).toBe(211);
    expect(await codeOf(AV.User.logInWithMobilePhone(cnPhone(), PW))).toBe(213);
    expect(await codeOf(AV.User.become('tss_not-a-real-token'))).toBe(211);
  });

  it('locks the account after 6 failures in 15 minutes (219), even for the right password', async () => {
    const user = await signUp();
    await AV.User.logOut();
    const codes = [];
    for (let i = 0; i < 6; i++) codes.push(await codeOf(AV.User.logIn(user.getUsername(), `wrong-${i}-password`)));
    expect(codes).toEqual([210, 210, 210, 210, 210, 210]);
    expect(await codeOf(AV.User.logIn(user.getUsername(), PW))).toBe(219);
  });

  it('saves custom fields, __op operations and Dates; fetch returns them; no sessionToken on fetch', async () => {
    const user = await signUp({ score: 1, tags: ['a'], labels: ['x', 'y'] });
    const when = new Date('2020-02-02T02:02:02.020Z');
    user.increment('score', 4);
    user.add('tags', 'b');
    user.addUnique('labels', 'x');
    user.set('birthday', when);
    user.set('nested', { city: 'Shanghai', zip: '200000' });
    await user.save();
    user.unset('nested');
    user.remove('tags', 'a');
    await user.save();
    const fetched = await new AV.Query(AV.User).get(user.id!);
    expect(fetched.get('score')).toBe(5);
    expect(fetched.get('tags')).toEqual(['b']);
    expect(fetched.get('labels')).toEqual(['x', 'y']);
    expect(fetched.get('nested')).toBeUndefined();
    expect(fetched.get('birthday')).toEqual(when);
    expect(fetched.getSessionToken()).toBeFalsy();
    const raw = await lcFetch(t.base, 'GET', `/1.1/users/${user.id}`);
    expect(raw.body.birthday).toEqual({ __type: 'Date', iso: '2020-02-02T02:02:02.020Z' });
    expect(raw.body.sessionToken).toBeUndefined();
  });

  it('refuses a save on another user (206) and of protected fields (119)', async () => {
    const victim = await signUp();
    await AV.User.logOut();
    await signUp();
    const other = AV.Object.createWithoutData<AVUser>('_User', victim.id!);
    other.set('nick', 'hacked');
    expect(await codeOf(other.save())).toBe(206);
    const me = AV.User.current()!;
    me.set('emailVerified', true);
    expect(await codeOf(me.save())).toBe(119);
  });

  it('updatePassword and refreshSessionToken issue new tokens and end the other sessions', async () => {
    const user = await signUp();
    const first = user.getSessionToken();
    const second = (await AV.User.logIn(user.getUsername(), PW)).getSessionToken();
    const current = AV.User.current()!;
    const newPw = 'amber-orchard-42-kite';
    secrets.push(newPw);
    await updatePassword(current, PW, newPw);
    const third = current.getSessionToken();
    expect(third).not.toBe(second);
    expect(await codeOf(AV.User.become(first))).toBe(211);
    expect(await codeOf(AV.User.become(second))).toBe(211);
    expect((await AV.User.become(third)).id).toBe(user.id);
    expect(await codeOf(updatePassword(AV.User.current()!, 'wrong-old-password', 'x-whatever-long-1'))).toBe(210);

    const other = (await AV.User.logIn(user.getUsername(), newPw)).getSessionToken();
    const me = AV.User.current()!;
    await me.refreshSessionToken();
    const fresh = me.getSessionToken();
    expect(fresh).not.toBe(other);
    expect(await me.isAuthenticated()).toBe(true);
    expect(await codeOf(AV.User.become(other))).toBe(211);
    expect(await codeOf(AV.User.become(third))).toBe(211);
    expect((await AV.User.become(fresh)).id).toBe(user.id);
  });

  it('resets a password by email: the code comes through SMTP, the reset page sets it and ends sessions', async () => {
    const email = `${uniq('reset')}@example.com`;
    const user = await signUp({ email });
    const token = user.getSessionToken();
    await AV.User.logOut();
    expect(await codeOf(AV.User.requestPasswordReset(`${uniq('nobody')}@example.com`))).toBe(205);
    const before = smtp.messages.length;
    await AV.User.requestPasswordReset(email);
    const mail = await smtp.waitFor((m, i) => i >= before && m.to === email && /password/i.test(m.subject), 5000);
    const code = extractCode(mail.text);
    secrets.push(code);
    const newPw = 'copper-meadow-19-river';
    secrets.push(newPw);
    const form = await fetch(`${t.base}/1.1/resetPassword?email=${encodeURIComponent(email)}`);
    expect(form.headers.get('content-type')).toMatch(/text\/html/);
    expect(await form.text()).toContain(`value="${email}"`);
    const posted = await fetch(`${t.base}/1.1/resetPassword`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email, code, password: newPw }).toString(),
    });
    expect(posted.status).toBe(200);
    expect(await posted.text()).toContain('Password changed');
    expect(await codeOf(AV.User.become(token))).toBe(211);
    expect(await codeOf(AV.User.logIn(user.getUsername(), PW))).toBe(210);
    expect((await AV.User.logIn(user.getUsername(), newPw)).id).toBe(user.id);
  });

  it('verifies an email through the link of requestEmailVerify', async () => {
    const email = `${uniq('verify')}@example.com`;
    const user = await signUp({ email });
    const before = smtp.messages.length;
    await AV.User.requestEmailVerify(email);
    const mail = await smtp.waitFor((m, i) => i >= before && m.to === email && m.text.includes('/1.1/verifyEmail?token='), 5000);
    const link = /https?:\/\/\S+\/1\.1\/verifyEmail\?token=\S+/.exec(mail.text)![0];
    secrets.push(new URL(link).searchParams.get('token')!);
    const page = await fetch(link);
    expect(page.status).toBe(200);
    await user.fetch();
    expect(user.get('emailVerified')).toBe(true);
  });

  it('logs in with an SMS code through the webhook; signUpOrlogInWithMobilePhone creates then logs in', async () => {
    const phone = cnPhone();
    const user = await signUp({ mobilePhoneNumber: phone });
    await AV.User.logOut();
    let before = sms.requests.length;
    await AV.User.requestLoginSmsCode(phone);
    const code = await smsCodeFor(phone, before);
    const loggedIn = await AV.User.logInWithMobilePhoneSmsCode(phone, code);
    expect(loggedIn.id).toBe(user.id);
    expect(loggedIn.get('mobilePhoneVerified')).toBe(true);
    expect(await codeOf(AV.User.logInWithMobilePhoneSmsCode(phone, code))).toBe(603);
    await AV.User.logOut();

    const fresh = cnPhone();
    before = sms.requests.length;
    await AV.Cloud.requestSmsCode(fresh);
    const c1 = await smsCodeFor(fresh, before);
    const created = await AV.User.signUpOrlogInWithMobilePhone(fresh, c1, { nickname: 'phoney' } as never);
    expect(created.getUsername()).toBe(fresh);
    expect(created.getMobilePhoneNumber()).toBe(fresh);
    expect(created.get('mobilePhoneVerified')).toBe(true);
    expect(created.get('nickname')).toBe('phoney');
    await AV.User.logOut();
    before = sms.requests.length;
    await AV.Cloud.requestSmsCode({ mobilePhoneNumber: fresh, ttl: 5, name: 'Demo', op: 'login' } as never);
    const c2 = await smsCodeFor(fresh, before);
    expect((await AV.User.signUpOrlogInWithMobilePhone(fresh, c2)).id).toBe(created.id);
  });

  it('verifies SMS codes, verifies a phone, resets a password by SMS and changes the phone number', async () => {
    const phone = cnPhone();
    let before = sms.requests.length;
    await AV.Cloud.requestSmsCode(phone);
    const generic = await smsCodeFor(phone, before);
    expect(await codeOf(AV.Cloud.verifySmsCode(generic === '000000' ? '111111' : '000000', phone))).toBe(603);
    await AV.Cloud.verifySmsCode(generic, phone);
    expect(await codeOf(AV.Cloud.verifySmsCode(generic, phone))).toBe(603);

    const user = await signUp({ mobilePhoneNumber: phone });
    const token = user.getSessionToken();
    before = sms.requests.length;
    await AV.User.requestMobilePhoneVerify(phone);
    await AV.User.verifyMobilePhone(await smsCodeFor(phone, before));
    await user.fetch();
    expect(user.get('mobilePhoneVerified')).toBe(true);

    await AV.User.logOut();
    before = sms.requests.length;
    await AV.User.requestPasswordResetBySmsCode(phone);
    const resetCode = await smsCodeFor(phone, before);
    const newPw = 'granite-lake-88-ember';
    secrets.push(newPw);
    await AV.User.resetPasswordBySmsCode(resetCode, newPw);
    expect(await codeOf(AV.User.become(token))).toBe(211);
    const me = await AV.User.logInWithMobilePhone(phone, newPw);

    const next = cnPhone();
    before = sms.requests.length;
    await AV.User.requestChangePhoneNumber(next);
    const changeCode = await smsCodeFor(next, before);
    await AV.User.changePhoneNumber(next, changeCode);
    await me.fetch();
    expect(me.getMobilePhoneNumber()).toBe(next);
    expect(me.get('mobilePhoneVerified')).toBe(true);
  });

  it('logs in with authData (201 new, 200 again), associates, dissociates, and honours failOnNotExist', async () => {
    const openid = uniq('openid');
    expect(await codeOf(AV.User.loginWithAuthData({ openid, access_token: 't0' }, 'weixin', { failOnNotExist: true }))).toBe(211);
    const first = await AV.User.loginWithAuthData({ openid, access_token: 't1', expires_in: 7200 }, 'weixin');
    expect(first.getUsername()).toMatch(/^[a-z0-9]{25}$/);
    expect(first.get('authData')).toEqual({ weixin: { openid, access_token: 't1', expires_in: 7200 } });
    await AV.User.logOut();
    const again = await AV.User.loginWithAuthData({ openid, access_token: 't2' }, 'weixin', { failOnNotExist: true });
    expect(again.id).toBe(first.id);
    expect(again.get('authData').weixin.access_token).toBe('t2');

    const uid = uniq('weibo');
    await again.associateWithAuthData({ uid, access_token: 'w' }, 'weibo');
    expect(Object.keys(again.get('authData')).sort()).toEqual(['weibo', 'weixin']);
    await AV.User.logOut();
    expect((await AV.User.loginWithAuthData({ uid, access_token: 'w2' }, 'weibo')).id).toBe(first.id);
    const me = AV.User.current()!;
    await me.dissociateAuthData('weibo');
    await me.fetch();
    expect(Object.keys(me.get('authData'))).toEqual(['weixin']);
    // GET /1.1/users/me (become) shows the same authData, read with the session in one statement.
    const became = await AV.User.become(me.getSessionToken());
    expect(became.get('authData')).toEqual(me.get('authData'));
    expect(Object.keys(became.get('authData'))).toEqual(['weixin']);
    await AV.User.logOut();

    // Someone else cannot link an account that is already taken.
    const other = await signUp();
    expect(await codeOf(other.associateWithAuthData({ openid, access_token: 'x' }, 'weixin'))).toBe(208);
  });

  it('creates anonymous users and turns them into real ones', async () => {
    const anon = await AV.User.loginAnonymously();
    expect(anon.isAnonymous()).toBe(true);
    expect(anon.getUsername()).toMatch(/^[a-z0-9]{25}$/);
    const name = uniq('real');
    anon.setUsername(name);
    anon.setPassword(PW);
    await anon.signUp();
    expect(anon.isAnonymous()).toBe(false);
    await AV.User.logOut();
    const real = await AV.User.logIn(name, PW);
    expect(real.id).toBe(anon.id);
    expect(real.get('authData')).toBeUndefined();
  });

  it('joins platforms through a UnionID main account', async () => {
    const unionId = uniq('union');
    const office = await AV.User.loginWithAuthDataAndUnionId({ openid: uniq('o1'), access_token: 'a' }, 'wxleanoffice', unionId, {
      unionIdPlatform: 'weixin',
      asMainAccount: true,
    });
    expect(office.get('authData')[`_weixin_unionid`]).toEqual({ uid: unionId });
    await AV.User.logOut();
    const support = await AV.User.loginWithAuthDataAndUnionId({ openid: uniq('o2'), access_token: 'b' }, 'wxleansupport', unionId, {
      unionIdPlatform: 'weixin',
    });
    expect(support.id).toBe(office.id);
    expect(Object.keys(support.get('authData')).sort()).toEqual(['_weixin_unionid', 'wxleanoffice', 'wxleansupport']);
  });

  it('queries users with the master key: where, order, limit, select, count, first; refuses clients', async () => {
    const tag = uniq('q');
    const made: AVUser[] = [];
    for (let i = 0; i < 5; i++) {
      made.push(await signUp({ team: tag, rank: i, city: i % 2 ? 'Hangzhou' : 'Shanghai' }));
      await AV.User.logOut();
    }
    const q = new AV.Query(AV.User).equalTo('team', tag).greaterThanOrEqualTo('rank', 1).descending('rank').limit(2);
    q.select('rank', 'team');
    const page = await q.find({ useMasterKey: true });
    expect(page.map((u) => u.get('rank'))).toEqual([4, 3]);
    expect(page[0]!.get('city')).toBeUndefined();
    expect(await new AV.Query(AV.User).equalTo('team', tag).count({ useMasterKey: true })).toBe(5);
    const starts = new AV.Query(AV.User).startsWith('username', made[0]!.getUsername().slice(0, -1)).equalTo('team', tag);
    expect((await starts.find({ useMasterKey: true })).length).toBeGreaterThanOrEqual(1);
    const inCity = new AV.Query(AV.User).containedIn('city', ['Hangzhou']).equalTo('team', tag);
    expect((await inCity.find({ useMasterKey: true })).map((u) => u.get('rank')).sort()).toEqual([1, 3]);
    const first = await new AV.Query(AV.User).equalTo('team', tag).ascending('rank').first({ useMasterKey: true });
    expect(first?.get('rank')).toBe(0);
    expect(await codeOf(new AV.Query(AV.User).equalTo('team', tag).find())).toBe(403);
    // A query long enough to go through /1.1/batch.
    const ids = [...made.map((u) => u.id), ...Array.from({ length: 120 }, (_, i) => `ffffffffffffffffffff${String(i).padStart(4, '0')}`)];
    const long = await new AV.Query(AV.User).containedIn('objectId', ids).find({ useMasterKey: true });
    expect(long.map((u) => u.id).sort()).toEqual(made.map((u) => u.id).sort());
  });

  it('destroys a user: own session or master key only', async () => {
    const user = await signUp();
    await user.destroy();
    expect(await codeOf(new AV.Query(AV.User).get(user.id!))).toBe(211);
    const victim = await signUp();
    await AV.User.logOut();
    const attacker = await signUp();
    expect(attacker.id).not.toBe(victim.id);
    expect(await codeOf(AV.Object.createWithoutData('_User', victim.id!).destroy())).toBe(206);
    await AV.Object.createWithoutData('_User', victim.id!).destroy({ useMasterKey: true });
    expect(await codeOf(new AV.Query(AV.User).get(victim.id!))).toBe(211);
  });
});
