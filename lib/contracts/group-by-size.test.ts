import { expect, it } from 'vitest';
import { groupBySize } from './group-by-size';

it('groups in order by count and bytes; an item over the byte limit goes alone', () => {
  const limits = { maxItems: 3, maxSize: 100 };
  expect(groupBySize([], limits)).toEqual([]);
  expect(groupBySize([10, 10, 10, 10, 10], limits)).toEqual([
    [0, 1, 2],
    [3, 4],
  ]);
  expect(groupBySize([60, 30, 20, 250, 5], limits)).toEqual([[0, 1], [2], [3], [4]]);
  expect(groupBySize([100, 0, 0], limits)).toEqual([[0, 1, 2]]);
});
