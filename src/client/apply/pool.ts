/** Bounded concurrency for independent async work. */
/** Runs `work` over `items` with at most `limit` at once; the first failure rejects (others finish). */
export async function pool<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let index = 0;
  let failure: unknown;
  const worker = async () => {
    while (index < items.length && failure === undefined) {
      const item = items[index++]!;
      try {
        await work(item);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure;
}
