import { deepEqual, hasOwn, isObject } from './json-util';

/**
 * Element ordering of merged lists, shared by strategic merge patch and server-side apply.
 *
 * Two elements are "the same" when both are objects carrying `mergeKey` with equal values;
 * otherwise (scalars, or no merge key) when they are deep-equal.
 */
export function sameElement(a: unknown, b: unknown, mergeKey: string | undefined): boolean {
  if (mergeKey !== undefined && isObject(a) && isObject(b)) {
    return hasOwn(a, mergeKey) && hasOwn(b, mergeKey) && deepEqual(a[mergeKey], b[mergeKey]);
  }
  return deepEqual(a, b);
}

/** Index of the first element of `list` that is the same as `item`, or -1. */
export function indexOfElement(list: readonly unknown[], item: unknown, mergeKey: string | undefined): number {
  for (let i = 0; i < list.length; i++) if (sameElement(list[i], item, mergeKey)) return i;
  return -1;
}

/** Stable sort of `items` by their position in `order`; items absent from `order` go last. */
function sortByOrder(items: unknown[], order: readonly unknown[], mergeKey: string | undefined): unknown[] {
  return items
    .map((item, pos) => {
      const i = indexOfElement(order, item, mergeKey);
      return { item, pos, key: i < 0 ? Number.POSITIVE_INFINITY : i };
    })
    .sort((a, b) => (a.key === b.key ? a.pos - b.pos : a.key < b.key ? -1 : 1))
    .map((e) => e.item);
}

/**
 * Orders a merged list as the Kubernetes apiserver does for strategic merge patches:
 * - "patch items" (merged elements that appear in `patchOrder`) keep the order of
 *   `patchOrder` (the `$setElementOrder` list, or the patch list itself);
 * - "server-only items" keep their order in `serverOrder` (the live list);
 * - the two sequences are interleaved: a server-only item is placed before the next patch
 *   item only when both occur in `serverOrder` and the server-only item comes first there.
 *   So server-only items stay next to their live neighbours, and items new to the list
 *   come before server-only items they cannot be compared with.
 */
export function orderMergedList(
  merged: readonly unknown[],
  patchOrder: readonly unknown[],
  serverOrder: readonly unknown[],
  mergeKey: string | undefined,
): unknown[] {
  const patchItems: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const item of merged) {
    (indexOfElement(patchOrder, item, mergeKey) >= 0 ? patchItems : serverOnly).push(item);
  }
  const right = sortByOrder(patchItems, patchOrder, mergeKey);
  const left = sortByOrder(serverOnly, serverOrder, mergeKey);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) {
      out.push(right[j++]);
    } else if (j >= right.length) {
      out.push(left[i++]);
    } else {
      const li = indexOfElement(serverOrder, left[i], mergeKey);
      const ri = indexOfElement(serverOrder, right[j], mergeKey);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}
