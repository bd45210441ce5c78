// The group-commit policy as a unit, on a hand-driven clock and event loop: a sync starts at once
// when enough writers wait, otherwise after a short wait for the writers the last sync released.

import { describe, expect, test } from "bun:test";
import { GroupCommit, type GroupCommitLog } from "../../src/persistence/group-commit.ts";

/** A fake log, a clock that moves only when told, and deferred callbacks run one turn at a time. */
function harness(waitMs = 0.2) {
  const state = { waiting: 0, busy: false, nowMs: 0, syncs: [] as string[] };
  const deferred: (() => void)[] = [];
  const log: GroupCommitLog = {
    waiting: () => state.waiting,
    busy: () => state.busy,
    syncNow: () => state.syncs.push("now"),
    syncAfterWait: () => state.syncs.push("after wait"),
  };
  const gc = new GroupCommit(log, { waitMs, nowMs: () => state.nowMs, defer: (fn) => deferred.push(fn) });
  const turn = () => {
    const due = deferred.splice(0);
    for (const fn of due) fn();
    return due.length;
  };
  return { state, gc, turn, deferred };
}

describe("GroupCommit", () => {
  test("the first sync starts at once: no sync has released anyone yet", () => {
    const { state, gc, deferred } = harness();
    state.waiting = 1;
    gc.request();
    expect(state.syncs).toEqual(["now"]);
    expect(deferred.length).toBe(0);
  });

  test("a sync starts at once when at least as many writers wait as the last sync released", () => {
    const { state, gc } = harness();
    gc.released(3);
    state.waiting = 3;
    gc.request();
    expect(state.syncs).toEqual(["now"]);
  });

  test("a lone writer never waits: it is all the last sync released", () => {
    const { state, gc } = harness();
    gc.released(1);
    state.waiting = 1;
    gc.request();
    expect(state.syncs).toEqual(["now"]);
  });

  test("with fewer writers waiting than the last sync released, the sync waits until the rest arrive", () => {
    const { state, gc, turn } = harness();
    gc.released(3);
    state.waiting = 1;
    gc.request();
    expect(state.syncs).toEqual([]);
    expect(gc.delaying).toBe(true);
    state.nowMs = 0.05;
    turn();
    expect(state.syncs).toEqual([]);
    state.waiting = 3;
    turn();
    expect(state.syncs).toEqual(["after wait"]);
    expect(gc.delaying).toBe(false);
  });

  test("the wait ends after waitMs even if the writers never come", () => {
    const { state, gc, turn } = harness(0.2);
    gc.released(50);
    state.waiting = 2;
    gc.request();
    state.nowMs = 0.1;
    turn();
    expect(state.syncs).toEqual([]);
    state.nowMs = 0.2;
    turn();
    expect(state.syncs).toEqual(["after wait"]);
    expect(turn()).toBe(0);
  });

  test("a request during the wait starts neither a second wait nor a sync", () => {
    const { state, gc, turn, deferred } = harness();
    gc.released(4);
    state.waiting = 1;
    gc.request();
    gc.request();
    expect(deferred.length).toBe(1);
    state.waiting = 4;
    turn();
    expect(state.syncs).toEqual(["after wait"]);
  });

  test("a sync started meanwhile, or a closed log, ends the wait without syncing", () => {
    const { state, gc, turn } = harness();
    gc.released(4);
    state.waiting = 1;
    gc.request();
    state.busy = true;
    turn();
    expect(state.syncs).toEqual([]);
    expect(gc.delaying).toBe(false);
    expect(turn()).toBe(0);
  });
});
