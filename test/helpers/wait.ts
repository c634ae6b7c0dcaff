// Waiting on state instead of time: a condition checked at every turn of the
// event loop, so a test proceeds the moment it holds, however loaded the
// machine is.

/**
 * Resolves once cond() holds. With `turns`, resolves anyway after that many
 * turns, for a caller that then asserts the condition (a leak check that
 * should fail, not hang).
 */
export function until(cond: () => boolean, turns = Infinity): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (cond() || --turns <= 0) resolve();
      else setImmediate(check);
    };
    check();
  });
}
