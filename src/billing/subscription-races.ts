import { DomainError } from '../lib/errors.ts'

/**
 * Rounds of an optimistic change to one user's subscription before giving up.
 * Every write is guarded by the row's version, so a lost round means another
 * writer of the same subscription progressed; 8 lost in a row happen only when
 * one user's subscription is written by many requests at once (the admin race
 * test sends 10 and all settle), and the caller is then told to try again.
 * The payment transactions had 6 and the subscription services 8: one limit now.
 */
const MAX_SUBSCRIPTION_ROUNDS = 8

/** A round lost to another writer of the subscription: its transaction rolls back and it runs again. */
export class SubscriptionConflict extends Error {
  constructor() {
    super('the subscription changed concurrently')
  }
}

/** What a round answers when it changed or saw a change and must read the rows again. */
export const AGAIN: unique symbol = Symbol('again')

/**
 * Runs `round` until it answers, at most MAX_SUBSCRIPTION_ROUNDS times; a
 * round that throws SubscriptionConflict or answers AGAIN is run again. Out
 * of rounds, the same answer everywhere: 409 conflict, the client may retry.
 */
export async function retryOnConflict<T>(round: () => Promise<T | typeof AGAIN>): Promise<T> {
  for (let n = 0; n < MAX_SUBSCRIPTION_ROUNDS; n++) {
    try {
      const answer = await round()
      if (answer !== AGAIN) return answer
    } catch (error) {
      if (!(error instanceof SubscriptionConflict)) throw error
    }
  }
  throw new DomainError('conflict', 'The subscription kept changing; try again')
}
