import { AsyncLocalStorage } from 'node:async_hooks';
import type { Kysely, Transaction } from 'kysely';

/** The transaction the current async call chain runs in, and whether it has ended. */
interface Scope {
  trx: Transaction<any>;
  open: boolean;
}

const scopes = new AsyncLocalStorage<Scope>();

/** Reads the Kysely instance an {@link ambient} view stands for right now (the transaction, or the root). */
const CURRENT = Symbol('tessera.ambient.current');

/**
 * A view of `root` that follows the ambient transaction: inside {@link runInTransaction} every query made
 * through it (by any store, prepared statement or `sql` template) runs on that transaction; outside it
 * runs on `root`. This is how the domain writes a change and the events it causes in one transaction
 * (DESIGN.md "Events": the outbox) without every store taking a transaction argument.
 *
 * Inside a transaction, `transaction().execute(fn)` on the view runs `fn` in the ambient transaction
 * (flattened: the stores' own multi-statement transactions join the outer one, and an error anywhere rolls
 * back everything). Work an ambient transaction leaves behind (a promise started inside and not awaited)
 * falls back to `root` once the transaction has ended, instead of using a finished connection.
 * @param root the Kysely instance {@link openDatabase} made
 */
export function ambient<DB>(root: Kysely<DB>): Kysely<DB> {
  return new Proxy(root, {
    get(target, property) {
      const scope = scopes.getStore();
      const live = scope?.open ? scope.trx : undefined;
      if (property === CURRENT) return live ?? target;
      if (live && property === 'transaction') return () => joinedBuilder(live);
      const self = live ?? target;
      const value = Reflect.get(self, property, self) as unknown;
      // Methods are bound to the instance they belong to; what a getter returns (`fn`, `schema`, `dynamic`,
      // themselves callable objects with properties) is returned as it is.
      return typeof value === 'function' && isMethod(self, property) ? (value as (...a: unknown[]) => unknown).bind(self) : value;
    },
  });
}

/** True when `property` is a plain function-valued property of `object` or its prototypes (not a getter). */
function isMethod(object: object, property: string | symbol): boolean {
  const own = Object.getOwnPropertyDescriptor(object, property);
  if (own) return 'value' in own;
  const proto = Object.getPrototypeOf(object) as object | null;
  if (!proto) return false;
  let known = METHODS.get(proto);
  if (!known) METHODS.set(proto, (known = new Map()));
  let answer = known.get(property);
  if (answer === undefined) {
    answer = false;
    for (let o: object | null = proto; o; o = Object.getPrototypeOf(o) as object | null) {
      const descriptor = Object.getOwnPropertyDescriptor(o, property);
      if (descriptor) {
        answer = 'value' in descriptor;
        break;
      }
    }
    known.set(property, answer);
  }
  return answer;
}

/** {@link isMethod}'s answers per prototype (Kysely and Transaction: a handful of properties each). */
const METHODS = new WeakMap<object, Map<string | symbol, boolean>>();

/** A stand-in for Kysely's TransactionBuilder that joins the ambient transaction. */
function joinedBuilder(trx: Transaction<any>) {
  const builder = {
    setIsolationLevel: () => builder,
    setAccessMode: () => builder,
    execute: <T>(fn: (trx: Transaction<any>) => Promise<T>): Promise<T> => fn(trx),
  };
  return builder;
}

/**
 * The Kysely instance an {@link ambient} view currently stands for (the ambient transaction or the root);
 * any other instance is returned as is.
 */
export function currentOf<DB>(db: Kysely<DB>): Kysely<DB> {
  return ((db as unknown as Record<symbol, unknown>)[CURRENT] as Kysely<DB> | undefined) ?? db;
}

/** True while the calling async chain runs inside {@link runInTransaction}. */
export function inTransaction(): boolean {
  return scopes.getStore()?.open === true;
}

/**
 * Runs `fn` in one database transaction that every store made on the {@link ambient} view of `root` joins:
 * it commits when `fn` resolves and rolls back when it throws (the error is rethrown). Re-entrant: inside
 * a transaction, `fn` simply runs in it. Keep `fn` to database work: no network calls while it holds the
 * transaction (on SQLite it holds the only connection).
 * @param root the Kysely instance {@link openDatabase} made (the ambient view or the root itself)
 */
export async function runInTransaction<T>(root: Kysely<any>, fn: () => Promise<T>): Promise<T> {
  if (inTransaction()) return fn();
  const base = currentOf(root);
  return base.transaction().execute(async (trx) => {
    const scope: Scope = { trx, open: true };
    try {
      return await scopes.run(scope, fn);
    } finally {
      scope.open = false;
    }
  });
}
