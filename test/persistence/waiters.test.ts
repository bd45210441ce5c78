// The waiter queue as a unit: connections holding replies are released once, oldest first, up to
// the durable position only; a release from inside a release is folded into the running one; the
// queue stays bounded under load that never lets it empty; positions never go backwards.

import { describe, expect, test } from "bun:test";
import { InvariantError } from "../../src/assert.ts";
import { waitQueueCompactCount } from "../../src/constants.ts";
import { WaiterQueue, type DurabilityWaiter } from "../../src/persistence/waiters.ts";

function recorder(seen: string[], name: string, then?: () => void): DurabilityWaiter {
  return {
    onDurable: (lsn) => {
      seen.push(`${name}@${lsn}`);
      then?.();
    },
  };
}

describe("WaiterQueue", () => {
  test("a release tells every waiter up to the position, oldest first, and leaves later ones queued", () => {
    const q = new WaiterQueue();
    const seen: string[] = [];
    q.push(10, recorder(seen, "a"));
    q.push(20, recorder(seen, "b"));
    q.push(30, recorder(seen, "c"));
    expect(q.release(25)).toBe(2);
    expect(seen).toEqual(["a@25", "b@25"]);
    expect(q.length).toBe(1);
    expect(q.release(30)).toBe(1);
    expect(seen).toEqual(["a@25", "b@25", "c@30"]);
    expect(q.length).toBe(0);
  });

  test("each waiter is told exactly once, however many releases follow", () => {
    const q = new WaiterQueue();
    const seen: string[] = [];
    q.push(5, recorder(seen, "a"));
    q.release(5);
    q.release(5);
    q.release(9);
    expect(seen).toEqual(["a@5"]);
  });

  test("a release asked for from inside a release runs after the waiters already due, not nested, and the outer one counts them", () => {
    const q = new WaiterQueue();
    const seen: string[] = [];
    let nestedReturned = -1;
    q.push(10, recorder(seen, "a", () => {
      // A released connection runs more requests at once: a new write, then a rotation releasing it.
      q.push(40, recorder(seen, "late"));
      nestedReturned = q.release(40);
    }));
    q.push(20, recorder(seen, "b"));
    expect(q.release(20)).toBe(3);
    expect(nestedReturned).toBe(0);
    expect(seen).toEqual(["a@20", "b@20", "late@40"]);
    expect(q.length).toBe(0);
  });

  test("a waiter that throws leaves the queue usable: the next release goes on after it", () => {
    const q = new WaiterQueue();
    const seen: string[] = [];
    q.push(1, { onDurable: () => { throw new Error("boom"); } });
    q.push(2, recorder(seen, "b"));
    expect(() => q.release(1)).toThrow("boom");
    expect(q.release(2)).toBe(1);
    expect(seen).toEqual(["b@2"]);
  });

  test("under load that never lets it empty the queue drops its released front and stays bounded", () => {
    const q = new WaiterQueue();
    const w = { onDurable() {} };
    let lsn = 0;
    let most = 0;
    q.push(++lsn, w); // always one waiter behind: the queue is never empty
    for (let i = 0; i < 20 * waitQueueCompactCount; i++) {
      q.push(++lsn, w);
      q.release(lsn - 1);
      most = Math.max(most, q.slots);
    }
    expect(q.length).toBe(1);
    expect(most).toBeLessThanOrEqual(2 * waitQueueCompactCount + 2);
  });

  test("queueing a position below an earlier waiter's is a broken invariant", () => {
    const q = new WaiterQueue();
    q.push(10, { onDurable() {} });
    expect(() => q.push(9, { onDurable() {} })).toThrow(InvariantError);
  });

  test("a release to a position below an earlier release is a broken invariant", () => {
    const q = new WaiterQueue();
    q.release(10);
    expect(() => q.release(9)).toThrow(InvariantError);
  });
});
