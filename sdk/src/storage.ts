/**
 * Where {@link AuthenticationClient} keeps the session token: any object with `localStorage`'s
 * synchronous `getItem` / `setItem` / `removeItem` (`window.localStorage`, `sessionStorage`, or
 * your own). Without one the token lives in memory only.
 */
export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Holds the token in memory, mirrored to a {@link TokenStorage} when one is given. */
export class TokenHolder {
  #memory: string | null = null;

  constructor(
    private readonly storage: TokenStorage | undefined,
    private readonly key: string,
  ) {}

  /** The token; the strings `'null'`/`'undefined'` a careless storage may hold read as none. */
  get(): string | null {
    if (this.storage) {
      const value = this.storage.getItem(this.key);
      return value && value !== 'null' && value !== 'undefined' ? value : null;
    }
    return this.#memory;
  }

  /** Stores the token; `null` removes it. */
  set(token: string | null): void {
    if (this.storage) {
      if (token) this.storage.setItem(this.key, token);
      else this.storage.removeItem(this.key);
    } else {
      this.#memory = token;
    }
  }
}
