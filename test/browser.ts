/**
 * A tiny browser for the OIDC and Account API suites: keeps cookies (name, value, path) across
 * requests to one origin; `request` never follows redirects (the test sees every hop of the
 * authorization flow), `follow` does, within one origin.
 */
export class Browser {
  private readonly jar = new Map<string, { name: string; value: string; path: string }>();

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const { pathname } = new URL(url);
    const cookie = [...this.jar.values()]
      .filter((c) => pathname === c.path || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/')
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    const headers = new Headers(init.headers);
    if (cookie) headers.set('cookie', cookie);
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      const path = attrs.find((a) => /^path=/i.test(a))?.slice(5) ?? '/';
      const gone = attrs.some((a) => /^expires=Thu, 01 Jan 1970/i.test(a) || /^max-age=0$/i.test(a)) || value === '';
      if (gone) this.jar.delete(`${name}|${path}`);
      else this.jar.set(`${name}|${path}`, { name, value, path });
    }
    return res;
  }

  /** Follows redirects within `origin`; stops at the first answer that is not a redirect or leaves it. */
  async follow(url: string, origin: string): Promise<{ res: Response; url: string }> {
    let current = url;
    for (let hops = 0; hops < 10; hops++) {
      const res = await this.request(current);
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return { res, url: current };
      const next = new URL(location, current).href;
      if (!next.startsWith(origin)) return { res, url: next };
      current = next;
    }
    throw new Error('too many redirects');
  }
}
